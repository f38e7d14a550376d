/**
 * The eval suite as part of `npm test`: run every scenario against real in-process gateways and assert the
 * gate (every attack stopped, every benign scenario allowed, known gaps excluded). The scorecard files are
 * not rewritten here; `npm run evals` does that.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadSuite } from './lib/load.js';
import { buildScorecard } from './lib/scorecard.js';
import { runSuite } from './lib/suite.js';

const root = path.dirname(fileURLToPath(import.meta.url));

test(
  'eval suite: every attack stopped and every benign twin allowed (known gaps excluded)',
  { timeout: 240_000 },
  async () => {
    const suite = await loadSuite(root);
    const card = buildScorecard(await runSuite(suite));
    assert.ok(card.totals.scenarios >= 150, `expected at least 150 scenarios, found ${card.totals.scenarios}`);
    assert.ok(card.totals.attacks > 0 && card.totals.benign > 0);
    assert.deepEqual(card.gate.failures, [], 'scenarios that failed the gate');
    assert.equal(card.totals.stopped, card.totals.attacks);
    assert.equal(card.totals.allowed, card.totals.benign);
  },
);
