/**
 * The npm package as a consumer gets it. `npm run build` writes dist/; the demo, run from the built `bin`,
 * keeps its state under the directory it runs in; and `npm pack` ships only what the allowlist below
 * names, even with demo state (signing keys, audit logs) lying inside the tree where older demos left it.
 * Also: the Docker build context excludes local state at any depth, and the Node versions agree.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import dockerignoreModule from '@balena/dockerignore';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse } from 'yaml';
import { DEMO_AGENT_KEY } from '../gateway/edges/cli/commands/demo.js';
import { REPO_ROOT } from './fixtures/gateway-process.js';

const run = promisify(execFile);
// A CommonJS module whose types declare a default export; `factory.default` is the factory itself.
const dockerignore = dockerignoreModule.default;
const BIN = path.join(REPO_ROOT, 'bin', 'portcullis.js');
const DIST = path.join(REPO_ROOT, 'dist');

/** Everything the package may contain. A file matching none of these fails the test. */
const ALLOWED: readonly RegExp[] = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^SECURITY\.md$/,
  /^bin\/portcullis\.js$/,
  /^docs\/[a-z0-9-]+\.md$/,
  /^dist\/(?:gateway|connectors|policies|examples)\/(?:[a-z0-9-]+\/)*[a-z0-9-]+(?:\.d\.ts|\.js)$/,
  /^dist\/gateway\/edges\/operator\/console\/(?:index\.html|console\.css|console\.js)$/,
  /^dist\/(?:gateway\/config\/portcullis|policies\/policy|policies\/policy-tests)\.schema\.json$/,
  /^dist\/examples\/(?:demo|compose)\/[a-z0-9.-]+\.yaml$/,
  /^dist\/policies\/examples\/[a-z0-9.-]+\.yaml$/,
];
/** Never in a package, whatever the allowlist says (checked separately so the message is precise). */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/(?:^|\/)\./, 'dot-file or dot-directory (e.g. .portcullis state)'],
  [/\.test(?:-suite)?\.|(?:^|\/)(?:test|fixtures)\//, 'test or fixture'],
  [/signing-keys|\.pem$|\.key$/, 'key material'],
  [/\.jsonl$|\.checkpoint\.json$/, 'audit log'],
  [/(?<!\.d)\.ts$/, 'TypeScript source (the package ships compiled JavaScript)'],
];

interface PackResult {
  files: { path: string }[];
  entryCount: number;
  size: number;
  unpackedSize: number;
}

function dirsNamed(root: string, name: string, out: string[] = []): string[] {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const full = path.join(root, entry.name);
    if (entry.name === name) out.push(full);
    else dirsNamed(full, name, out);
  }
  return out;
}

/** Runs the built demo in `cwd` until it listens, makes one tool call and loads the console, then stops it. */
async function runBuiltDemo(cwd: string): Promise<void> {
  const demo: ChildProcess = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--api-port', '0'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => demo.once('exit', () => resolve()));
  try {
    const mcpUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 60_000);
      const check = (): void => {
        const match = /Portcullis listening on (http:\/\/\S+\/mcp)/.exec(output);
        if (match?.[1] === undefined) return;
        clearTimeout(timer);
        resolve(match[1]);
      };
      demo.stdout!.on('data', check);
      demo.once('exit', (code) => reject(new Error(`demo exited with ${String(code)}:\n${output}`)));
    });
    const client = new Client({ name: 'packaging-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${DEMO_AGENT_KEY}` } },
      }),
    );
    const result = await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    await client.close();
    // The operator console is served from the compiled package's own assets.
    const page = await fetch(new URL('/console/', mcpUrl));
    assert.equal(page.status, 200, 'the console is served from dist/');
    assert.match(await page.text(), /<html/i);
  } finally {
    demo.kill('SIGTERM');
    await exited;
  }
}

describe('npm package', () => {
  let workDir: string;
  /** Stray state this test put into the tree; removed afterwards (dist/ is rebuilt on every run anyway). */
  const planted: string[] = [];

  before(async () => {
    await run(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.js')], { cwd: REPO_ROOT, timeout: 300_000 });
    workDir = await mkdtemp(path.join(tmpdir(), 'portcullis-demo-cwd-'));
  });

  after(async () => {
    for (const dir of planted) await rm(dir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('builds dist/ with the console, the schemas and the examples the compiled code reads', async () => {
    for (const file of [
      'dist/gateway/edges/cli/main.js',
      'dist/gateway/index.js',
      'dist/gateway/index.d.ts',
      'dist/gateway/edges/operator/console/index.html',
      'dist/gateway/edges/operator/console/console.js',
      'dist/gateway/edges/operator/console/console.css',
      'dist/gateway/config/portcullis.schema.json',
      'dist/policies/policy.schema.json',
      'dist/examples/demo/portcullis.yaml',
      'dist/examples/demo/policy.yaml',
      'dist/examples/demo/demo-mcp-server.js',
    ]) {
      assert.ok(existsSync(path.join(REPO_ROOT, file)), `${file} is built`);
    }
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      exports: Record<string, { types: string; default: string }>;
    };
    for (const target of [
      ...Object.values(manifest.bin),
      ...Object.values(manifest.exports).flatMap((e) => [e.types, e.default]),
    ]) {
      assert.ok(existsSync(path.join(REPO_ROOT, target)), `${target} (bin/exports) exists after the build`);
    }
    // compose.yaml runs the demo backends from the image's dist/.
    const compose = parse(await readFile(path.join(REPO_ROOT, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { entrypoint?: string[] }>;
    };
    for (const service of ['helpdesk-api', 'kb']) {
      const entrypoint = compose.services[service]?.entrypoint ?? [];
      assert.equal(entrypoint[0], 'node');
      assert.match(entrypoint[1] ?? '', /^dist\/.+\.js$/, `${service} runs compiled JavaScript`);
      assert.ok(existsSync(path.join(REPO_ROOT, entrypoint[1]!)), `${entrypoint[1]} is built`);
    }
  });

  it('runs the built command without tsx: --help and --version', async () => {
    const help = await run(process.execPath, [BIN, '--help'], { cwd: workDir });
    assert.match(help.stdout, /Usage: portcullis/);
    for (const name of ['start', 'demo', 'policy', 'audit']) assert.match(help.stdout, new RegExp(`\\b${name}\\b`));
    const version = await run(process.execPath, [BIN, '--version'], { cwd: workDir });
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), manifest.version);
  });

  it('runs the built demo with its console, and keeps its state under the directory it runs in, never inside the package', async () => {
    await runBuiltDemo(workDir);
    const keyFile = path.join(workDir, '.portcullis', 'keys', 'signing-keys.json');
    const auditFile = path.join(workDir, '.portcullis', 'audit.jsonl');
    assert.ok((await stat(keyFile)).size > 0, 'development keys in the working directory');
    assert.ok((await stat(auditFile)).size > 0, 'audit log in the working directory');
    assert.deepEqual(dirsNamed(DIST, '.portcullis'), [], 'the demo wrote nothing into dist/');
  });

  it('packs only allowlisted files, even with demo state, keys and audit logs inside the tree', async () => {
    // State where earlier demos wrote it (beside their config) and where a build or a run might leave it.
    const stateSource = path.join(workDir, '.portcullis');
    assert.ok(existsSync(stateSource), 'demo state exists (previous test)');
    for (const target of [
      path.join(DIST, '.portcullis'),
      path.join(DIST, 'examples', 'demo', '.portcullis'),
      path.join(REPO_ROOT, 'examples', 'demo', '.portcullis'),
      path.join(REPO_ROOT, '.portcullis'),
    ]) {
      if (existsSync(target)) continue; // already there (a developer's own demo state): leave it alone
      await cp(stateSource, target, { recursive: true });
      planted.push(target);
    }

    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: REPO_ROOT,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [pack] = JSON.parse(stdout) as PackResult[];
    assert.ok(pack !== undefined, 'npm pack reported a package');
    const files = pack.files.map((f) => f.path).sort();

    const problems: string[] = [];
    for (const file of files) {
      const forbidden = FORBIDDEN.find(([pattern]) => pattern.test(file));
      if (forbidden !== undefined) problems.push(`${file}: ${forbidden[1]}`);
      else if (!ALLOWED.some((pattern) => pattern.test(file))) problems.push(`${file}: not in the allowlist`);
    }
    assert.deepEqual(problems, [], 'files outside the allowlist');

    for (const required of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'SECURITY.md',
      'bin/portcullis.js',
      'dist/gateway/edges/cli/main.js',
      'dist/gateway/index.js',
      'dist/gateway/verify/index.js',
      'dist/gateway/edges/operator/console/index.html',
      'dist/examples/demo/portcullis.yaml',
      'dist/examples/demo/demo-mcp-server.js',
    ]) {
      assert.ok(files.includes(required), `${required} is in the package`);
    }
  });
});

describe('Docker build context', () => {
  it('excludes local state, installs, build output and tests at any depth', async () => {
    const rules = dockerignore().add(await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));
    for (const file of [
      '.portcullis/keys/signing-keys.json',
      'examples/demo/.portcullis/keys/signing-keys.json',
      'examples/demo/.portcullis/audit.jsonl',
      'gateway/operator/.portcullis/audit.jsonl',
      'node_modules/express/package.json',
      'examples/compose/node_modules/x/index.js',
      'dist/gateway/index.js',
      'examples/dist/x.js',
      'gateway/edges/cli/program.test.ts',
      'gateway/approvals/contract.test-suite.ts',
      'test/fixtures/idp.ts',
      'audit.jsonl',
      'examples/demo/audit.jsonl',
      '.env',
      'examples/compose/.env',
      'scripts/run-tests.js',
    ]) {
      assert.equal(rules.ignores(file), true, `${file} stays out of the build context`);
    }
  });

  it('keeps every file the Dockerfile copies in the build context, and nothing missing', async () => {
    const dockerfile = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const rules = dockerignore().add(await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));
    const sources = [...dockerfile.matchAll(/^COPY (?!--from=)(.+) \S+$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    assert.ok(sources.length >= 5, `COPY sources found: ${sources.join(', ')}`);
    for (const source of sources) {
      assert.ok(existsSync(path.join(REPO_ROOT, source)), `${source} exists`);
      assert.equal(rules.ignores(source), false, `${source} is in the build context`);
    }
  });
  it('keeps every source file the build reads in the build context (only tests are left out)', async () => {
    const rules = dockerignore().add(await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));
    const sources = ['gateway', 'connectors', 'policies', 'examples']
      .flatMap((dir) =>
        readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)),
      )
      .filter((file) => !file.split(path.sep).some((part) => part.startsWith('.') || part === 'node_modules'))
      .filter((file) => statSync(path.join(REPO_ROOT, file)).isFile())
      .map((file) => file.split(path.sep).join('/'));
    assert.ok(sources.length > 100, `${sources.length} source files`);
    const missing = sources.filter((file) => rules.ignores(file) && !/\.test(?:-suite)?\.ts$/.test(file));
    assert.deepEqual(missing, []);
  });
});

describe('Node versions', () => {
  it('requires Node >= 22 and pins one exact Node 24 LTS for tests and the image', async () => {
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    assert.equal(manifest.engines.node, '>=22');
    const pinned = manifest.devDependencies['node'] ?? '';
    assert.match(pinned, /^24\.\d+\.\d+$/, 'the node development dependency is an exact 24.x');
    const dockerfile = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(bases.length >= 2);
    for (const base of bases) assert.equal(base, `node:${pinned}-bookworm-slim`, 'image on the tested Node');
  });
});

describe('production dependencies', () => {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };

  it('are each imported by the code the package ships', () => {
    const shipped = ['gateway', 'connectors', 'policies', 'examples']
      .flatMap((dir) =>
        readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) =>
          path.join(REPO_ROOT, dir, f),
        ),
      )
      .filter((file) => file.endsWith('.ts') && !/\.test(?:-suite)?\.ts$/.test(file))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const unused = Object.keys(manifest.dependencies).filter((name) => {
      const quoted = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      return !new RegExp(`(?:from |import\\(|require\\()'${quoted}(?:/[^']*)?'`).test(shipped);
    });
    assert.deepEqual(unused, [], 'dependencies nothing imports');
  });

  it('pin the OpenTelemetry packages to the versions the SDK pins, so installs share one copy', async () => {
    const sdk = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'node_modules', '@opentelemetry', 'sdk-node', 'package.json'), 'utf8'),
    ) as { version: string; dependencies: Record<string, string> };
    assert.equal(manifest.dependencies['@opentelemetry/sdk-node'], sdk.version, 'the SDK itself is pinned');
    const ours = Object.entries(manifest.dependencies).filter(([name]) => name in sdk.dependencies);
    assert.ok(ours.length >= 3, ours.map(([name]) => name).join(', '));
    for (const [name, spec] of ours) assert.equal(spec, sdk.dependencies[name], `${name} in lockstep with the SDK`);
  });
});
