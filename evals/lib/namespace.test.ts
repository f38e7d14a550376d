import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inEvalNamespace, NAMESPACE_FLAG } from './namespace.js';
import { buildScorecard } from './scorecard.js';
import type { ScenarioResult } from './suite.js';

describe('eval network namespace', () => {
  it('the flag alone does not make a process count as inside the namespace', () => {
    const before = process.env[NAMESPACE_FLAG];
    process.env[NAMESPACE_FLAG] = '1';
    try {
      // This process sees the machine's interfaces (or an empty namespace), not the addresses the setup adds.
      assert.equal(inEvalNamespace(), false);
    } finally {
      if (before === undefined) delete process.env[NAMESPACE_FLAG];
      else process.env[NAMESPACE_FLAG] = before;
    }
  });

  it('a scenario that could not run is left out of the counts, and fails the gate when every scenario must run', () => {
    const result = (id: string, extra: Partial<ScenarioResult>): ScenarioResult => ({
      id,
      kind: 'attack',
      category: 'egress',
      title: id,
      file: 'f.yaml',
      source: 's',
      environment: 'e',
      passed: true,
      ...extra,
    });
    const results = [
      result('egress/ran', {}),
      result('egress/ns-x', { passed: false, notRun: 'needs the namespace', failure: { step: -1, message: 'needs' } }),
    ];
    const relaxed = buildScorecard(results);
    assert.equal(relaxed.gate.passed, true);
    assert.deepEqual(relaxed.notRun, ['egress/ns-x']);
    assert.equal(relaxed.totals.attacks, 1);
    const strict = buildScorecard(results, { requireAll: true });
    assert.equal(strict.gate.passed, false);
    assert.deepEqual(
      strict.gate.failures.map((f) => f.id),
      ['egress/ns-x'],
    );
  });
});
