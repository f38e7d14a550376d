/**
 * The `portcullis` command validates values as trees (gateway/kernel/zod-trees.ts): it installs its
 * memoizer before any schema is built, so that no schema, the SDK's included, keeps zod's default.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI_COMPILED, REPO_ROOT } from './fixtures/gateway-process.js';

const PROBE = path.join(REPO_ROOT, 'test', 'fixtures', 'zod-memoizer-probe.ts');

describe('the portcullis command and zod', () => {
  it('installs its memoizer before any schema is built', () => {
    const demo = path.join(REPO_ROOT, 'examples', 'demo', 'portcullis.yaml');
    const run = spawnSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--import', PROBE, CLI_COMPILED, 'config', 'validate', demo],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    // Loading and validating the configuration builds schemas: zod would install its default first.
    assert.match(run.stdout, /valid \(2 connectors/);
    assert.match(run.stderr, /^zod memoizers: \["other"\]$/m);
  });
});
