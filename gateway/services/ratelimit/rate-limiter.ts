/**
 * Fixed-window call counters for policy rate limits (`rateLimit: { calls, per }` on a rule). In memory for
 * one process, in Redis (INCR + PEXPIRE in one script) so limits hold across instances. `hit` resolves false
 * when the call is over the limit, and rejects with StoreUnavailableError (code STORE_UNAVAILABLE) when the
 * counter cannot answer within `timeoutMs`: callers refuse the call with that code (fail closed, truthfully).
 * The Redis check-and-increment is one script, so it is atomic across instances.
 */
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../tasks/index.js';

export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<boolean>;
}

/** Counters kept before the ones whose window is over are dropped. */
const PRUNE_ABOVE = 50_000;

export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { start: number; end: number; count: number }>();
  return {
    async hit(key, limit, windowSeconds) {
      const at = now();
      const windowMs = windowSeconds * 1000;
      const start = at - (at % windowMs);
      const slot = `${key}\u0000${windowSeconds}`;
      let current = windows.get(slot);
      if (current === undefined || current.start !== start) {
        current = { start, end: start + windowMs, count: 0 };
        windows.set(slot, current);
        // Each counter by the end of its own window: a short window's call must not reset a long one.
        if (windows.size > PRUNE_ABOVE) for (const [k, v] of windows) if (v.end <= at) windows.delete(k);
      }
      current.count += 1;
      return current.count <= limit;
    },
  };
}

const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

export function createRedisRateLimiter(options: {
  redis: Redis;
  prefix: string;
  now?: () => number;
  timeoutMs?: number;
}): RateLimiter {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    async hit(key, limit, windowSeconds) {
      const windowMs = windowSeconds * 1000;
      const at = now();
      const start = at - (at % windowMs);
      const redisKey = `${options.prefix}ratelimit:${windowSeconds}:${start}:${key}`;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StoreUnavailableError('rate-limit counter did not answer in time')),
          timeoutMs,
        );
      });
      try {
        const count = await Promise.race([
          options.redis.eval(INCREMENT, 1, redisKey, String(windowMs + 1000)) as Promise<number>,
          deadline,
        ]);
        return count <= limit;
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error;
        throw new StoreUnavailableError('rate-limit counter unavailable', { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
