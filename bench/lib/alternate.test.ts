import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alternateLoops } from './alternate.js';

describe('alternating micro-benchmark loops', () => {
  it('warms each way up once, alternates the measured loops and reports medians and the median ratio', async () => {
    const calls: string[] = [];
    // Loop times in call order; the first of each is the warm-up and must not count.
    const firstTimes = [1000, 10, 30, 20];
    const secondTimes = [1000, 5, 3, 20];
    const result = await alternateLoops(
      3,
      () => (calls.push('first'), firstTimes.shift()!),
      async () => (calls.push('second'), secondTimes.shift()!),
    );
    assert.deepEqual(calls, ['first', 'second', 'first', 'second', 'first', 'second', 'first', 'second']);
    // Medians of 10/30/20 and 5/3/20; ratios 0.5, 0.1, 1.
    assert.deepEqual(result, { firstNanos: 20, secondNanos: 5, ratio: 0.5 });
  });
});
