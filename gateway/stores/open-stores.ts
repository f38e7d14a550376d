/**
 * The shared state of the gateway, in memory (one process) or in Redis (several instances). Every store
 * has the same contract in both forms; which one is used is decided here, once, from the configuration.
 *
 * Redis is opened with `enableOfflineQueue: false` and a bounded retry per command, so an unreachable Redis
 * makes store operations fail fast, and the stores' callers fail closed.
 */
import { Redis } from 'ioredis';
import { type GatewayConfig, resolveSecretRef, type Environment } from '../config/index.js';
import { createMemoryPinStore, createRedisPinStore, type PinStore } from '../services/integrity/index.js';
import type { RevocationStore } from '../services/revocation/index.js';
import type { TaskStore } from '../services/tasks/index.js';
import { createMemoryRevocationStore } from './memory-revocation-store.js';
import { createMemoryTaskStore } from './memory-task-store.js';
import { createRedisRevocationStore } from './redis-revocation-store.js';
import { createRedisTaskStore } from './redis-task-store.js';
import { createMemoryOnceClaims, createRedisOnceClaims, type OnceClaims } from './once-claims.js';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '../services/ratelimit/index.js';

export interface Stores {
  kind: 'memory' | 'redis';
  /** Redis connection options for components that open their own connections (BullMQ). */
  redisConnection?: { url: string; password?: string; prefix: string };
  /** The shared Redis client (redis stores only). */
  redis?: Redis;
  tasks: TaskStore;
  revocation: RevocationStore;
  pins: PinStore;
  rateLimiter: RateLimiter;
  /** Single-use claims (sealed request states of 2026-07-28 agents). */
  onceClaims: OnceClaims;
  /** Whether the store can answer now (for readiness); read from the connection state, never blocks. */
  status(): { available: boolean; reason?: string };
  close(): Promise<void>;
}

export async function openStores(
  config: GatewayConfig['stores'],
  options: { env: Environment; baseDir: string },
): Promise<Stores> {
  if (config.kind === 'memory') {
    const tasks = createMemoryTaskStore();
    const revocation = createMemoryRevocationStore({ tasks });
    const pins = createMemoryPinStore();
    return {
      kind: 'memory',
      tasks,
      revocation,
      pins,
      rateLimiter: createMemoryRateLimiter(),
      onceClaims: createMemoryOnceClaims(),
      status: () => ({ available: true }),
      async close() {
        await Promise.all([tasks.close(), revocation.close(), pins.close()]);
      },
    };
  }
  const password =
    config.password !== undefined ? (await resolveSecretRef(config.password, options)).reveal() : undefined;
  const redis = new Redis(config.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    ...(password !== undefined ? { password } : {}),
  });
  redis.on('error', () => undefined); // reported through failing operations (fail closed), not as crashes
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `cannot connect to Redis at ${redactUrl(config.url)}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const tasks = createRedisTaskStore({ redis, prefix: config.prefix });
  const revocation = createRedisRevocationStore({ redis, prefix: config.prefix, tasks });
  const pins = createRedisPinStore({ redis, prefix: config.prefix });
  return {
    kind: 'redis',
    redisConnection: { url: config.url, ...(password !== undefined ? { password } : {}), prefix: config.prefix },
    redis,
    tasks,
    revocation,
    pins,
    rateLimiter: createRedisRateLimiter({ redis, prefix: config.prefix }),
    onceClaims: createRedisOnceClaims({ redis, prefix: config.prefix }),
    status: () =>
      redis.status === 'ready' ? { available: true } : { available: false, reason: `redis connection ${redis.status}` },
    async close() {
      await Promise.all([tasks.close(), revocation.close(), pins.close()]);
      redis.disconnect();
    },
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}
