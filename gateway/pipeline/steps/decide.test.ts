import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../services/metrics/index.js';
import { timedDecision } from './decide.js';

const ALLOW = { effect: 'allow' as const, rules: ['r'], reason: '' };

describe('timedDecision', () => {
  it("puts the engine's time, by the clock around it, into the evaluation histogram", async () => {
    const metrics = createMetrics();
    const readings = [1_000, 1_000.04];
    const decision = timedDecision(
      metrics,
      () => ALLOW,
      () => readings.shift()!,
    );
    assert.equal(decision, ALLOW);
    assert.equal(readings.length, 0, 'the clock is read before and after');
    const text = await metrics.metricsText();
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="0.000025"\} 0$/m);
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="0.00005"\} 1$/m, '40 µs is within 50 µs');
    assert.match(text, /^portcullis_policy_evaluation_seconds_count 1$/m);
  });

  it('reads no clock without metrics, and passes an engine failure on untimed', () => {
    const clock = () => assert.fail('no clock without metrics');
    assert.equal(
      timedDecision(undefined, () => ALLOW, clock),
      ALLOW,
    );
    const metrics = createMetrics();
    assert.throws(
      () =>
        timedDecision(metrics, () => {
          throw new Error('engine broke');
        }),
      /engine broke/,
    );
  });
});
