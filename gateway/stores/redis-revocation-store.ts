/**
 * Revocation shared through Redis: `{prefix}revoked:jti:{jti}` (expires when the token would have) and
 * `{prefix}disabled:agent:{id}` (until enabled). Every check is one Redis read; nothing is cached, so a
 * change on one instance is effective on the next call on all of them.
 */
import type { Redis } from 'ioredis';
import { readFlag } from './redis-reads.js';
import { DEFAULT_STORE_TIMEOUT_MS, guardStore } from './store-guard.js';
import type { StoreEpoch } from './redis-epoch.js';
import { isTaskLive, type TaskStore } from '../services/tasks/index.js';
import type { RevocationStore } from '../services/revocation/index.js';

export interface RedisRevocationStoreOptions {
  redis: Redis;
  prefix: string;
  /** Usually the Redis task store on the same connection. */
  tasks: TaskStore;
  now?: () => number;
  timeoutMs?: number;
  /** When set, every check also confirms the store still holds its data (see redis-epoch.ts). */
  epoch?: StoreEpoch;
}

export function createRedisRevocationStore(options: RedisRevocationStoreOptions): RevocationStore {
  const { redis, prefix } = options;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const jtiKey = (jti: string): string => `${prefix}revoked:jti:${jti}`;
  const agentKey = (agentId: string): string => `${prefix}disabled:agent:${agentId}`;

  /**
   * A check that cannot get a clear answer throws StoreUnavailableError (the caller refuses, truthfully).
   * "Absent" is an answer only from a store that still holds its data: the epoch is read in the same
   * round trip, and a store that lost it reads as unknown, never as "not disabled" or "not revoked".
   */
  async function check(key: string): Promise<boolean> {
    const epoch = options.epoch;
    const read = await guardStore(() => readFlag(redis, key, epoch?.key), timeoutMs);
    epoch?.confirm(read.epoch ?? null);
    return read.value;
  }

  return {
    async revokeJti(jti, until) {
      if (until <= now()) return;
      // GT keeps the later expiry when a jti is revoked twice; the SET creates the key when absent.
      await guardStore(async () => {
        await redis.set(jtiKey(jti), '1', 'PXAT', until, 'NX');
        await redis.pexpireat(jtiKey(jti), until, 'GT');
      }, timeoutMs);
    },
    isJtiRevoked: (jti) => check(jtiKey(jti)),
    async disableAgent(agentId) {
      await guardStore(() => redis.set(agentKey(agentId), String(now())), timeoutMs);
    },
    async enableAgent(agentId) {
      await guardStore(() => redis.del(agentKey(agentId)), timeoutMs);
    },
    isAgentDisabled: (agentId) => check(agentKey(agentId)),
    async isTaskEnded(taskId) {
      return !isTaskLive(await options.tasks.get(taskId), now());
    },
    // The Redis connection belongs to the caller.
    async close() {},
  };
}
