/**
 * Single-use claims: the first `claim(id)` within `ttlMs` wins, every later one loses, on every instance
 * that shares the store. Sealed request states of 2026-07-28 agents are made single-use with it (a
 * replayed or reused state loses its claim). The memory form serves one process; the Redis form is one
 * `SET NX PX` per claim, so it holds across instances.
 */
import type { Redis } from 'ioredis';

export interface OnceClaims {
  /** True for the first claim of `id` while it lives; false for any later one. */
  claim(id: string, ttlMs: number): Promise<boolean>;
}

export function createMemoryOnceClaims(now: () => number = Date.now): OnceClaims {
  const claimed = new Map<string, number>();
  return {
    async claim(id, ttlMs) {
      const at = now();
      if (claimed.size > 10_000) for (const [key, until] of claimed) if (until <= at) claimed.delete(key);
      const until = claimed.get(id);
      if (until !== undefined && until > at) return false;
      claimed.set(id, at + ttlMs);
      return true;
    },
  };
}

export function createRedisOnceClaims(options: { redis: Redis; prefix: string }): OnceClaims {
  return {
    async claim(id, ttlMs) {
      const answer = await options.redis.set(`${options.prefix}once:${id}`, '1', 'PX', Math.max(1, ttlMs), 'NX');
      return answer === 'OK';
    },
  };
}
