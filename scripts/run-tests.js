// Runs the test suites with node's built-in runner (TypeScript through tsx).
//   node scripts/run-tests.js            unit tests, then integration tests
//   node scripts/run-tests.js unit       tests beside the code (gateway/, connectors/, policies/, evals/)
//   node scripts/run-tests.js integration  tests in test/ (real servers, Redis, browsers)
// Extra arguments after the suite name are passed to `node --test` (e.g. --test-name-pattern=egress).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const suites = {
  unit: ['gateway', 'connectors', 'policies', 'bench'],
  evals: ['evals'],
  integration: ['test'],
};

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
let failed = false;
for (const name of names) {
  const dirs = suites[name];
  if (dirs === undefined) {
    console.error(`unknown suite "${name}" (expected unit or integration)`);
    process.exit(2);
  }
  const files = dirs
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
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...extra, ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
