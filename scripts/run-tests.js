// Runs the test suites with node's built-in runner (TypeScript through tsx).
//   node scripts/run-tests.js            unit tests, then integration tests, then the eval suite
//   node scripts/run-tests.js unit       tests beside the code (gateway/, connectors/, policies/, bench/)
//   node scripts/run-tests.js integration  tests in test/ (real servers, Redis, browsers)
//   node scripts/run-tests.js evals      the eval suite (evals/)
// Extra arguments after the suite name are passed to `node --test` (e.g. --test-name-pattern=egress).
//
// The run owns its services: for suites that need Redis it starts a private redis-server on a free loopback
// port and stops it at the end (or uses PORTCULLIS_TEST_REDIS_URL when set). Under CI=true a skipped or todo
// test fails the run unless test/skip-allowlist.yaml lists it with a reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suites = {
  unit: { dirs: ['gateway', 'connectors', 'policies', 'bench'], redis: false },
  integration: { dirs: ['test'], redis: true },
  evals: { dirs: ['evals'], redis: false },
};
const ALLOWLIST = path.join(root, 'test', 'skip-allowlist.yaml');
const inCi = process.env.CI === 'true' || process.env.CI === '1';

const redisServer = await tsImport('../test/helpers/redis-server.ts', import.meta.url);
const skipCheck = await tsImport('../test/helpers/skip-check.ts', import.meta.url);

function findTests(dir, out = []) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (entry.endsWith('.test.ts')) out.push(path.relative(root, full));
  }
  return out;
}

const [requested, ...extra] = process.argv.slice(2);
const names = requested === undefined ? ['unit', 'integration', 'evals'] : [requested];
for (const name of names) {
  if (suites[name] === undefined) {
    console.error(`unknown suite "${name}" (expected ${Object.keys(suites).join(', ')})`);
    process.exit(2);
  }
}

// Read the allowlist before anything runs, so a malformed one fails at once.
const allowlist = skipCheck.loadSkipAllowlist(ALLOWLIST);

const env = { ...process.env, NODE_ENV: 'test' };
let redis;
if (names.some((name) => suites[name].redis) && !process.env[redisServer.TEST_REDIS_URL_VARIABLE]) {
  try {
    redis = await redisServer.startTestRedisServer();
  } catch (error) {
    console.error(`\n${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  env[redisServer.TEST_REDIS_URL_VARIABLE] = redis.url;
  console.log(`# redis: private redis-server at ${redis.url} for this run`);
}

const skipDir = mkdtempSync(path.join(tmpdir(), 'portcullis-skips-'));
const skipped = [];
let failed = false;
try {
  for (const name of names) {
    const files = suites[name].dirs
      .flatMap((d) => {
        try {
          return findTests(path.join(root, d));
        } catch {
          return [];
        }
      })
      .sort();
    if (files.length === 0) {
      console.error(`no ${name} tests found`);
      failed = true;
      continue;
    }
    console.log(`\n# ${name}: ${files.length} test files`);
    const skipFile = path.join(skipDir, `${name}.jsonl`);
    const reporters = [
      ...['--test-reporter=spec', '--test-reporter-destination=stdout'],
      `--test-reporter=${path.join(root, 'scripts', 'skip-reporter.js')}`,
      `--test-reporter-destination=${skipFile}`,
    ];
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=2', ...reporters, ...extra, ...files],
      { cwd: root, stdio: 'inherit', env },
    );
    if (result.status !== 0) failed = true;
    try {
      skipped.push(...skipCheck.parseSkipRecords(readFileSync(skipFile, 'utf8')));
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
} finally {
  rmSync(skipDir, { recursive: true, force: true });
  await redis?.stop();
}

const relative = skipped.map((s) => ({ ...s, file: s.file === '' ? '' : path.relative(root, s.file) }));
const verdict = skipCheck.judgeSkips(relative, allowlist);
if (relative.length > 0) {
  console.log(`\n# ${relative.length} skipped or todo test(s):`);
  for (const s of relative) console.log(`#   ${s.kind} ${s.file} > ${s.name}${s.reason ? ` (${s.reason})` : ''}`);
}
if (inCi && verdict.unlisted.length > 0) {
  console.error(`\nCI=true: ${verdict.unlisted.length} skipped or todo test(s) not in test/skip-allowlist.yaml:`);
  for (const s of verdict.unlisted) console.error(`  ${s.file} > ${s.name}`);
  console.error('Make them run on this machine (install what they need in .ci/run), or list them with a reason.');
  failed = true;
}
if (names.length === Object.keys(suites).length)
  for (const entry of verdict.stale)
    console.log(`# note: allowlisted skip no longer skips: ${entry.file} > ${entry.test}`);
process.exit(failed ? 1 : 0);
