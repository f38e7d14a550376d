/**
 * The Redis rate limiter against a real Redis: the check-and-increment is atomic, so simultaneous hits
 * from two gateway instances (two connections) never admit more than the limit; windows and keys are
 * separate; and a counter that cannot answer rejects with STORE_UNAVAILABLE instead of guessing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisRateLimiter } from '../../gateway/services/ratelimit/index.js';
import type { StoreUnavailableError } from '../../gateway/services/tasks/index.js';
import { deleteKeys, freshPrefix, REDIS_URL } from '../helpers/redis.js';
import { startRedisProcess } from './redis-process.js';

describe('Redis rate limiter', () => {
  const prefix = freshPrefix();
  let one: Redis;
  let two: Redis;
  before(() => {
    one = new Redis(REDIS_URL);
    two = new Redis(REDIS_URL);
  });
  after(async () => {
    one.disconnect();
    two.disconnect();
    await deleteKeys(prefix);
  });

  it('admits exactly the limit out of 50 simultaneous hits from two instances', async () => {
    const a = createRedisRateLimiter({ redis: one, prefix });
    const b = createRedisRateLimiter({ redis: two, prefix });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).hit('rule-x:agent-1', 10, 60)),
    );
    assert.equal(results.filter(Boolean).length, 10);
    assert.equal(await a.hit('rule-x:agent-1', 10, 60), false, 'still over the limit');
  });

  it('counts each key and each window on its own', async () => {
    let t = 1_000_000_000_000;
    const limiter = createRedisRateLimiter({ redis: one, prefix, now: () => t });
    assert.equal(await limiter.hit('k1', 1, 10), true);
    assert.equal(await limiter.hit('k1', 1, 10), false);
    assert.equal(await limiter.hit('k2', 1, 10), true, 'another key has its own count');
    t += 10_000;
    assert.equal(await limiter.hit('k1', 1, 10), true, 'the next window starts afresh');
  });

  it('rejects with STORE_UNAVAILABLE when Redis is gone', async () => {
    const redis = await startRedisProcess();
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const limiter = createRedisRateLimiter({ redis: client, prefix, timeoutMs: 500 });
      assert.equal(await limiter.hit('k', 5, 60), true);
      await redis.kill();
      await assert.rejects(
        limiter.hit('k', 5, 60),
        (e: unknown) =>
          (e as StoreUnavailableError).name === 'StoreUnavailableError' &&
          (e as StoreUnavailableError).code === 'STORE_UNAVAILABLE',
      );
    } finally {
      client.disconnect();
      await redis.close();
    }
  });
});
