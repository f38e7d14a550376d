/**
 * `portcullis config validate` and start-up agree: over a corpus of broken configurations, validate fails
 * exactly when the gateway refuses to start, and both name the same problem; a good configuration passes
 * both. Validate runs as the real CLI; start-up is `startGateway` on the same file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfigFile } from '../gateway/config/index.js';
import { configCommand } from '../gateway/edges/cli/commands/config.js';
import { silentLogger } from '../gateway/kernel/log.js';
import { startGateway } from '../gateway/main.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const tool = '{ name: t, method: GET, path: /t, inputSchema: { type: object } }';
const http = (baseUrl: string, extra = `tools: [${tool}]`) =>
  `connectors:\n  - { id: api, kind: http, baseUrl: '${baseUrl}', ${extra} }\n`;
const openapi = (document: string) => http('https://api.example.com', `openapi: { document: ${document} }`);
const POLICY_OK = 'version: 1\nname: ok\nrules:\n  - { id: reads, effect: allow, tools: [api_t] }\n';

interface Case {
  name: string;
  config: string;
  /** Extra files next to the configuration. */
  files?: Record<string, string>;
  /** What both must say about it. */
  problem: RegExp;
}

const BROKEN: Case[] = [
  { name: 'baseUrl host with a trailing dot', config: http('https://api.example.com.'), problem: /ends with a dot/ },
  {
    name: 'MCP upstream URL with a trailing dot',
    config: "connectors:\n  - { id: up, kind: mcp, transport: http, url: 'https://mcp.example.com./mcp' }\n",
    problem: /ends with a dot/,
  },
  {
    name: 'approvals webhook with a trailing dot',
    config: "approvals: { webhookUrl: 'https://hooks.example.com./x' }\n",
    problem: /ends with a dot/,
  },
  { name: 'OpenAPI document missing', config: openapi('./missing.yaml'), problem: /missing\.yaml|cannot read/i },
  {
    name: 'OpenAPI document not parseable',
    config: openapi('./api.yaml'),
    files: { 'api.yaml': 'openapi: 3.0.3\npaths: [unclosed\n' },
    problem: /api\.yaml|YAML|parse/i,
  },
  {
    name: 'OpenAPI document that is not OpenAPI 3',
    config: openapi('./api.yaml'),
    files: { 'api.yaml': 'swagger: "2.0"\npaths: {}\n' },
    problem: /OpenAPI/,
  },
  {
    name: 'policy file missing',
    config: `${http('https://api.example.com')}policy: { files: [./nope.yaml], watch: false }\n`,
    problem: /nope\.yaml/,
  },
  {
    name: 'policy file with an invalid rule',
    config: `${http('https://api.example.com')}policy: { files: [./p.yaml], watch: false }\n`,
    files: { 'p.yaml': 'version: 1\nname: p\nrules:\n  - { id: x, effect: maybe }\n' },
    problem: /p\.yaml/,
  },
  {
    name: 'policy rule id that collides with a rule the configuration implies',
    config: `${http('https://api.example.com')}policy: { files: [./p.yaml], watch: false }\n`,
    files: {
      'p.yaml': "version: 1\nname: p\nrules:\n  - { id: 'connector:api:egress', effect: allow, tools: [api_t] }\n",
    },
    problem: /connector:api:egress/,
  },
  {
    name: 'global egress.allowPrivate',
    config: `${http('https://api.example.com')}egress: { allowPrivate: [10.0.0.0/8] }\n`,
    problem: /egress\.allowPrivate/,
  },
  {
    name: 'private allowance for an unknown connector',
    config: `${http('https://api.example.com')}egress: { connectors: { other: { allowPrivate: [loopback] } } }\n`,
    problem: /unknown connector "other"/,
  },
  {
    name: 'method override header mapping',
    config: http(
      'https://api.example.com',
      'tools: [{ name: t, method: POST, path: /t, inputSchema: { type: object, properties: { v: { type: string } } }, headers: { X-HTTP-Method-Override: v } }]',
    ),
    problem: /X-HTTP-Method-Override/,
  },
  {
    name: 'duplicate tool from configuration and OpenAPI import',
    config: http(
      'https://api.example.com',
      `tools: [${tool.replace('name: t', 'name: listItems')}], openapi: { document: ./api.yaml }`,
    ),
    files: {
      'api.yaml':
        "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /items:\n    get: { operationId: listItems, responses: { '200': { description: ok } } }\n",
    },
    problem: /listItems/,
  },
  {
    name: 'SPIFFE trust bundle missing',
    config:
      "auth: { spiffe: { trustBundle: ./bundle.json, audience: portcullis, agents: { 'spiffe://example.org/a': a } } }\n",
    problem: /bundle\.json|trust bundle|cannot read/i,
  },
];

describe('config validate agrees with start-up', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-validate-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, c: Pick<Case, 'config' | 'files'>): Promise<string> {
    const folder = path.join(dir, name.replace(/[^a-z0-9]+/gi, '-'));
    await rm(folder, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(folder, { recursive: true }));
    for (const [file, text] of Object.entries(c.files ?? {})) await writeFile(path.join(folder, file), text);
    const file = path.join(folder, 'portcullis.yaml');
    await writeFile(file, `listen: { host: 127.0.0.1, port: 0 }\n${c.config}`);
    return file;
  }

  /** The `config validate` command itself, run in-process (output captured, exit code from process.exitCode). */
  async function validate(file: string): Promise<{ code: number; output: string }> {
    let output = '';
    const writes = { out: process.stdout.write, err: process.stderr.write };
    const capture = (chunk: string | Uint8Array): boolean => {
      output += String(chunk);
      return true;
    };
    const previousExitCode = process.exitCode;
    process.exitCode = 0;
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    try {
      await configCommand().parseAsync(['validate', file], { from: 'user' });
    } finally {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = previousExitCode;
    return { code, output };
  }

  async function start(file: string): Promise<{ ok: true } | { ok: false; message: string }> {
    try {
      const loaded = await loadConfigFile(file);
      const gateway = await startGateway({ loaded, env: {}, logger: silentLogger() });
      await gateway.close();
      return { ok: true };
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  for (const c of BROKEN) {
    it(`${c.name}: both refuse it, naming the problem`, async () => {
      const file = await write(c.name, c);
      const validated = await validate(file);
      const started = await start(file);
      assert.equal(validated.code, 1, `validate accepted it:\n${validated.output}`);
      assert.match(validated.output, c.problem);
      assert.equal(started.ok, false, 'the gateway started');
      assert.match((started as { message: string }).message, c.problem);
    });
  }

  it('the command line reports it the same way (exit code 1, the problem on stderr)', async () => {
    const file = await write('binary', { config: http('https://api.example.com.') });
    await assert.rejects(
      run(process.execPath, [
        '--import',
        'tsx',
        path.join(root, 'gateway/edges/cli/main.ts'),
        'config',
        'validate',
        file,
      ]),
      (error: { code?: number; stderr?: string }) => error.code === 1 && /ends with a dot/.test(error.stderr ?? ''),
    );
  });

  it('a shadow policy that does not compile: both go on (it is never enforced), validate warns', async () => {
    const file = await write('shadow', {
      config: `${http('https://api.example.com')}policy: { shadow: [./s.yaml], watch: false }\n`,
      files: { 's.yaml': 'version: 1\nname: s\nrules:\n  - { id: x, effect: allow, egress: {} }\n' },
    });
    const validated = await validate(file);
    assert.equal(validated.code, 0, validated.output);
    assert.match(validated.output, /warning: policy\.shadow: .*s\.yaml/);
    assert.deepEqual(await start(file), { ok: true });
  });

  it('a good configuration passes both', async () => {
    const file = await write('good', {
      config: `${http('https://api.example.com')}policy: { files: [./p.yaml], watch: false }\negress: { connectors: { api: { allowPrivate: [loopback] } } }\n`,
      files: { 'p.yaml': POLICY_OK },
    });
    const validated = await validate(file);
    assert.equal(validated.code, 0, validated.output);
    assert.match(validated.output, /valid/);
    assert.deepEqual(await start(file), { ok: true });
  });
});
