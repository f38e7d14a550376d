import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../kernel/index.js';
import type { CallState } from './call-state.js';
import { runSteps } from './runner.js';
import type { Step, StepOutcome } from './step.js';

const state = (): CallState =>
  ({
    ctx: { signal: new AbortController().signal },
    span: { setAttribute() {}, setAttributes() {}, setStatus() {}, isRecording: () => false },
  }) as unknown as CallState;

function observer() {
  const seen: string[] = [];
  return {
    seen,
    metrics: {
      observePipelineStep(step: string, outcome: string, seconds: number) {
        assert.ok(Number.isFinite(seconds) && seconds >= 0, `${step} took ${seconds}`);
        seen.push(`${step}:${outcome}`);
      },
    },
  };
}

describe('runner: steps that answer at once and steps that wait', () => {
  it('observes every step that runs once, with its outcome, in order, and none that is skipped', async () => {
    const { seen, metrics } = observer();
    const steps: Step[] = [
      { name: 'sync', run: () => undefined },
      { name: 'async', run: async () => undefined },
      { name: 'skipped', when: () => false, run: () => assert.fail('a skipped step ran') },
      { name: 'finish', run: async () => ({ finish: true }) },
      { name: 'after-finish', run: () => assert.fail('a step after the end ran') },
      { name: 'close', closing: true, run: () => undefined },
      { name: 'close-skipped', closing: true, when: () => false, run: () => assert.fail('a skipped closing step ran') },
    ];
    const outcome = await runSteps(steps, state(), { metrics });
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(seen, ['sync:next', 'async:next', 'finish:next', 'close:next']);
  });

  it('runs steps that answer at once, and skips steps, without yielding to the microtask queue', async () => {
    const order: string[] = [];
    const steps: Step[] = [
      {
        name: 'first',
        run: () => {
          queueMicrotask(() => order.push('microtask'));
          order.push('first');
          return undefined;
        },
      },
      { name: 'skipped', when: () => false, run: () => assert.fail('a skipped step ran') },
      { name: 'second', run: () => void order.push('second') },
      { name: 'waits', run: async () => void order.push('waits') },
      { name: 'close', closing: true, run: () => void order.push('close') },
    ];
    await runSteps(steps, state());
    assert.deepEqual(order, ['first', 'second', 'waits', 'microtask', 'close']);
  });

  it('waits for a step that answers with a thenable of its own, as `await` would', async () => {
    const { seen, metrics } = observer();
    const thenable = { then: (resolve: (outcome: StepOutcome) => void) => resolve({ finish: true }) };
    const steps: Step[] = [
      { name: 'thenable', run: () => thenable as unknown as Promise<StepOutcome> },
      { name: 'after', run: () => assert.fail('a step after the finish ran') },
    ];
    const outcome = await runSteps(steps, state(), { metrics });
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(seen, ['thenable:next']);
  });

  it('ends at a step that ends, synchronously or not, and says so in the metrics', async () => {
    for (const answer of ['sync', 'async'] as const) {
      const { seen, metrics } = observer();
      const end = { end: new GatewayError('POLICY_DENIED', 'no') };
      const steps: Step[] = [
        { name: 'deny', endsAs: 'deny', run: answer === 'sync' ? () => end : async () => end },
        { name: 'never', run: () => assert.fail('ran after the end') },
        { name: 'close', closing: true, run: async () => undefined },
      ];
      const outcome = await runSteps(steps, state(), { metrics });
      assert.equal(outcome.status, 'ended');
      assert.equal(outcome.status === 'ended' && outcome.error.code, 'POLICY_DENIED');
      assert.equal(outcome.status === 'ended' && outcome.step, 'deny');
      assert.deepEqual(seen, ['deny:end', 'close:next'], answer);
    }
  });

  it('turns a throw and a rejection alike into INTERNAL, observed as an error, logged, and still closes', async () => {
    for (const failure of ['throw', 'reject'] as const) {
      const { seen, metrics } = observer();
      const errors: string[] = [];
      const steps: Step[] = [
        {
          name: 'buggy',
          run:
            failure === 'throw'
              ? () => {
                  throw new TypeError('x is not a function');
                }
              : () => Promise.reject(new TypeError('x is not a function')),
        },
        { name: 'close', closing: true, run: () => undefined },
      ];
      const outcome = await runSteps(steps, state(), { metrics, onError: (_error, where) => errors.push(where) });
      assert.equal(outcome.status === 'ended' && outcome.error.code, 'INTERNAL', failure);
      assert.deepEqual(seen, ['buggy:error', 'close:next'], failure);
      assert.deepEqual(errors, ['step buggy'], failure);
    }
  });

  it('keeps the truthful code of a GatewayError a step throws, without logging it as a bug', async () => {
    const errors: string[] = [];
    const steps: Step[] = [
      {
        name: 'store',
        run: async () => {
          throw new GatewayError('STORE_UNAVAILABLE', 'the store is down');
        },
      },
    ];
    const outcome = await runSteps(steps, state(), { onError: (_error, where) => errors.push(where) });
    assert.equal(outcome.status === 'ended' && outcome.error.code, 'STORE_UNAVAILABLE');
    assert.deepEqual(errors, []);
  });
});
