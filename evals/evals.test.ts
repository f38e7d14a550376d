/**
 * The eval suite as part of `npm test`: run every scenario against real in-process gateways and assert the
 * gate (every attack stopped, every benign scenario allowed, known gaps excluded). The run happens in a child
 * process (`evals/run.ts`), which as root moves itself into a fresh eval network namespace so the scenarios
 * that need private and metadata addresses run too. The scorecard files are not rewritten here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Scorecard } from './lib/scorecard.js';

const root = path.dirname(fileURLToPath(import.meta.url));

test(
  'eval suite: every attack stopped and every benign twin allowed (known gaps excluded)',
  { timeout: 240_000 },
  async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'portcullis-evals-')), 'scorecard.json');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'run.ts'), '--no-write', '--json-out', out],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const card = JSON.parse(readFileSync(out, 'utf8')) as Scorecard;
    assert.ok(card.totals.scenarios >= 250, `expected at least 250 scenarios, found ${card.totals.scenarios}`);
    assert.ok(card.totals.attacks > 0 && card.totals.benign > 0);
    assert.deepEqual(card.gate.failures, [], `scenarios that failed the gate (the output names the seed):\n${output}`);
    assert.deepEqual(card.notRun, [], 'scenarios that did not run (the eval network namespace needs root)');
    assert.equal(card.totals.stopped, card.totals.attacks);
    assert.equal(card.totals.allowed, card.totals.benign);
    assert.equal(code, 0, output);
  },
);
