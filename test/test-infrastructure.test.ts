/**
 * The test run's own machinery: the private redis-server lives exactly as long as its starter, no test file
 * reaches for a Redis it did not get from helpers/redis.ts, and a CI run cannot pass by skipping.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startTestRedisServer } from './helpers/redis-server.js';
import { judgeSkips, loadSkipAllowlist, parseSkipRecords, type SkippedTest } from './helpers/skip-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves true when something accepts a TCP connection on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => Promise<boolean>, attempts = 100): Promise<boolean> {
  for (let i = 0; i < attempts; i += 1) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('private redis-server', () => {
  it('answers on a free loopback port, not the standard one, and is gone after stop()', async () => {
    const server = await startTestRedisServer();
    const port = portOf(server.url);
    assert.notEqual(port, 6379);
    const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
    try {
      assert.equal(await client.ping(), 'PONG');
      assert.deepEqual(await client.config('GET', 'save'), ['save', '']);
    } finally {
      client.disconnect();
      await server.stop();
    }
    assert.equal(await listening(port), false);
  });

  it('stops when the process that started it is killed outright', async () => {
    const script = path.join(mkdtempSync(path.join(tmpdir(), 'portcullis-redis-')), 'start.mts');
    writeFileSync(
      script,
      `import { startTestRedisServer } from ${JSON.stringify(path.join(root, 'test/helpers/redis-server.ts'))};\n` +
        `const server = await startTestRedisServer();\nconsole.log(server.url);\nsetInterval(() => {}, 1000);\n`,
    );
    const starter = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      starter.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      starter.once('exit', (code) => reject(new Error(`starter exited early (${code})`)));
    });
    const port = portOf(url);
    assert.equal(await listening(port), true);
    starter.kill('SIGKILL');
    assert.equal(await until(async () => !(await listening(port))), true, 'redis-server outlived its starter');
  });
});

describe('no test hard-codes a Redis', () => {
  it('only helpers/redis.ts decides which Redis a test talks to', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        if (entry === 'node_modules' || entry.startsWith('.')) continue;
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) walk(full);
        else if (full.endsWith('.ts')) files.push(full);
      }
    };
    for (const dir of ['test', 'evals', 'gateway', 'connectors', 'bench']) walk(path.join(root, dir));
    const testFiles = files.filter((f) => f.startsWith(path.join(root, 'test')) || f.endsWith('.test.ts'));
    assert.ok(testFiles.length > 20, `found only ${testFiles.length} test files`);
    // A Redis URL on loopback with the standard (or no) port, or the standard port passed by parts. A compose
    // file's published ports are configuration under test, not a connection, and do not count.
    const hardCoded = /redis:\/\/(127\.0\.0\.1|localhost|\[::1\])(:6379\b|['"`/])|port\s*[:=]\s*6379\b/;
    const offenders = testFiles.filter((f) => {
      if (f.endsWith(path.join('test', 'helpers', 'redis-server.ts'))) return false;
      if (f === fileURLToPath(import.meta.url)) return false;
      return hardCoded.test(readFileSync(f, 'utf8'));
    });
    assert.deepEqual(
      offenders.map((f) => path.relative(root, f)),
      [],
    );
  });
});

describe('skips in CI', () => {
  const skipped: SkippedTest[] = [
    { kind: 'skip', file: 'test/a.test.ts', name: 'needs a browser', reason: 'no chromium' },
    { kind: 'todo', file: 'test/b.test.ts', name: 'later', reason: '' },
  ];

  it('a skip not on the allowlist is reported, a listed one is not, a listed one that ran is stale', () => {
    const allowlist = [
      { file: 'test/a.test.ts', test: 'needs a browser', reason: 'the CI image has no display server at all' },
      { file: 'test/c.test.ts', test: 'ran after all', reason: 'kept for a machine that lacks the tool' },
    ];
    const verdict = judgeSkips(skipped, allowlist);
    assert.deepEqual(verdict.unlisted, [skipped[1]]);
    assert.deepEqual(verdict.stale, [allowlist[1]]);
  });

  it('the same test name in another file is not covered by an entry', () => {
    const verdict = judgeSkips(skipped, [{ file: 'test/z.test.ts', test: 'needs a browser', reason: 'some reason' }]);
    assert.deepEqual(verdict.unlisted, skipped);
  });

  it('an allowlist entry without a reason is refused', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'portcullis-skips-')), 'allow.yaml');
    writeFileSync(file, '- file: test/a.test.ts\n  test: needs a browser\n');
    assert.throws(() => loadSkipAllowlist(file), /reason/);
    writeFileSync(file, "- file: test/a.test.ts\n  test: needs a browser\n  reason: ''\n");
    assert.throws(() => loadSkipAllowlist(file), /reason/);
  });

  it('the committed allowlist parses, and every entry has a reason', () => {
    const allowlist = loadSkipAllowlist(path.join(root, 'test', 'skip-allowlist.yaml'));
    for (const entry of allowlist) assert.ok(entry.reason.length >= 10, `${entry.file} > ${entry.test}`);
  });

  it("the reporter's records round-trip", () => {
    const text = skipped.map((s) => JSON.stringify(s)).join('\n') + '\n';
    assert.deepEqual(parseSkipRecords(text), skipped);
  });

  it('a skip in a real node:test run is recorded by the reporter and judged unlisted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-skip-run-'));
    const reporterOut = path.join(dir, 'skips.jsonl');
    const testFile = path.join(dir, 'sample.test.mjs');
    writeFileSync(
      testFile,
      "import { test } from 'node:test';\ntest('runs', () => {});\ntest('skips itself', { skip: 'why not' }, () => {});\n",
    );
    const run = spawn(
      process.execPath,
      [
        '--test',
        '--test-reporter=tap',
        '--test-reporter-destination=stdout',
        `--test-reporter=${path.join(root, 'scripts', 'skip-reporter.js')}`,
        `--test-reporter-destination=${reporterOut}`,
        testFile,
      ],
      // Without NODE_TEST_CONTEXT the child is a run of its own, with its own reporters.
      { stdio: 'ignore', env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    );
    const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
    assert.equal(code, 0, "node's runner itself exits 0 on a skip: that is why the run checks");
    const records = parseSkipRecords(readFileSync(reporterOut, 'utf8'));
    assert.deepEqual(
      records.map((r) => [r.kind, r.name, r.reason]),
      [['skip', 'skips itself', 'why not']],
    );
    assert.equal(judgeSkips(records, []).unlisted.length, 1);
  });
});
