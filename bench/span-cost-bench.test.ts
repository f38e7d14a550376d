import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSpanCostBench } from './span-cost-bench.js';

/** The benchmark's report; no timing is asserted. */
describe('span cost micro-benchmark', () => {
  it('measures both variants in processes of their own and reports the difference', async () => {
    const result = await runSpanCostBench({ calls: 200, rounds: 1 });
    assert.equal(result.calls, 200);
    assert.equal(result.rounds, 1);
    for (const cost of [result.sdk, result.noSdk]) {
      assert.ok(Number.isFinite(cost.wallMicros) && cost.wallMicros > 0);
      assert.ok(Number.isFinite(cost.cpuMicros) && cost.cpuMicros >= 0);
    }
    assert.equal(result.addedCpuMicros, result.sdk.cpuMicros - result.noSdk.cpuMicros);
  });
});
