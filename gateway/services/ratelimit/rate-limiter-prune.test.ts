import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryRateLimiter } from './rate-limiter.js';

describe('memory rate limiter: pruning old windows', () => {
  it('keeps a long window counting while many short windows come and go', async () => {
    let at = 10 * 3_600_000 + 1_000; // just after the start of an hour
    const limiter = createMemoryRateLimiter(() => at);
    // A limit of 2 calls an hour, reached.
    assert.equal(await limiter.hit('hourly', 2, 3600), true);
    assert.equal(await limiter.hit('hourly', 2, 3600), true);
    assert.equal(await limiter.hit('hourly', 2, 3600), false);
    // Half an hour of traffic on per-minute limits, enough distinct keys to make the limiter prune.
    for (let minute = 0; minute < 30; minute++) {
      at += 60_000;
      for (let i = 0; i < 2_000; i++) await limiter.hit(`minute-${minute}-${i}`, 10, 60);
    }
    assert.equal(await limiter.hit('hourly', 2, 3600), false, 'the hour is not over: the limit still holds');
    at += 3_600_000;
    assert.equal(await limiter.hit('hourly', 2, 3600), true, 'a new hour starts a new count');
  });
});
