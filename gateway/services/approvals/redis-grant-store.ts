/**
 * Grant store shared by every gateway instance through Redis (semantics in grants.ts). `put`, `consume` and
 * `endTask` are single Lua scripts, so a `call` grant's uses cannot be spent twice by two instances.
 *
 * Keys (all under `prefix`, e.g. `portcullis:`):
 *   grant:{ticketId}            hash: json (the grant without usesLeft), usesLeft, expiresAt (ms), scope,
 *                               taskId, tool, callHash; expires with the grant
 *   grants:call:{callHash}      set of ticket ids of `call` grants for that call
 *   grants:tool:{sha256}        set of ticket ids of `task-tool` grants for one (task, tool)
 *   grants:task:{taskId}        set of ticket ids of one task (for endTask)
 *   grants:ended:{taskId}       marker: the task ended; no grant may be stored for it
 * Sets may briefly name grants that expired; the scripts skip and drop them. Scripts address keys they
 * compute, so this needs a single Redis (not Cluster).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { checkGrant, DEFAULT_ENDED_TASK_SECONDS } from './grant-check.js';
import { ApprovalError, type GrantStore, type StoredGrant } from './types.js';

export interface RedisGrantStoreOptions {
  /** A shared client; the store does not close it. */
  redis: Redis;
  /** Key prefix, e.g. `portcullis:`; tests use a fresh one each. */
  prefix: string;
  now?: () => number;
  /** Deadline for each Redis operation; default 2000 ms. */
  timeoutMs?: number;
  endedTaskSeconds?: number;
}

/** Extends a key's lifetime to at least `ms` from now (never shortens it). */
const EXTEND = `
local function extend(key, ms)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or ttl < ms then redis.call('PEXPIRE', key, ms) end
end`;

const PUT = `${EXTEND}
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[6])
if ttl <= 0 then return -2 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'usesLeft', ARGV[2], 'expiresAt', ARGV[3], 'scope', ARGV[4],
  'taskId', ARGV[7], 'tool', ARGV[8], 'callHash', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[5])
extend(KEYS[2], ttl)
redis.call('SADD', KEYS[3], ARGV[5])
extend(KEYS[3], ttl)
return 1`;

const CONSUME = `
local now = tonumber(ARGV[2])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  local g = redis.call('HMGET', key, 'json', 'usesLeft', 'expiresAt', 'scope', 'taskId', 'tool', 'callHash')
  if not g[1] then
    redis.call('SREM', KEYS[1], id)
  elseif g[4] == 'call' and tonumber(g[3]) > now and tonumber(g[2]) > 0 and g[5] == ARGV[3] and g[6] == ARGV[4] and g[7] == ARGV[5] then
    local left = redis.call('HINCRBY', key, 'usesLeft', -1)
    return {g[1], left}
  end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[1] .. id
  local g = redis.call('HMGET', key, 'json', 'usesLeft', 'expiresAt', 'scope', 'taskId', 'tool')
  if not g[1] then
    redis.call('SREM', KEYS[2], id)
  elseif g[4] == 'task-tool' and tonumber(g[3]) > now and g[5] == ARGV[3] and g[6] == ARGV[4] then
    return {g[1], tonumber(g[2])}
  end
end
return false`;

const END_TASK = `
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1`;

export function createRedisGrantStore(options: RedisGrantStoreOptions): GrantStore {
  const { redis, prefix } = options;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2000;
  const endedTaskMs = (options.endedTaskSeconds ?? DEFAULT_ENDED_TASK_SECONDS) * 1000;
  const grantKeyPrefix = `${prefix}grant:`;
  const callKey = (hash: string): string => `${prefix}grants:call:${hash}`;
  const toolKey = (taskId: string, tool: string): string =>
    `${prefix}grants:tool:${createHash('sha256')
      .update(JSON.stringify([taskId, tool]))
      .digest('hex')}`;
  const taskKey = (taskId: string): string => `${prefix}grants:task:${taskId}`;
  const endedKey = (taskId: string): string => `${prefix}grants:ended:${taskId}`;
  let closed = false;

  async function guard<T>(operation: () => Promise<T>): Promise<T> {
    if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the grant store is closed');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ApprovalError('STORE_UNAVAILABLE', 'the grant store did not answer in time')),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([operation(), deadline]);
    } catch (error) {
      if (error instanceof ApprovalError) throw error;
      throw new ApprovalError('STORE_UNAVAILABLE', 'the grant store is unavailable');
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async put(grant: StoredGrant): Promise<void> {
      checkGrant(grant);
      const { usesLeft, ...rest } = grant;
      const indexKey = grant.scope === 'call' ? callKey(grant.callHash!) : toolKey(grant.taskId, grant.tool);
      await guard(() =>
        redis.eval(
          PUT,
          4,
          grantKeyPrefix + grant.ticketId,
          indexKey,
          taskKey(grant.taskId),
          endedKey(grant.taskId),
          JSON.stringify(rest),
          String(usesLeft),
          String(Date.parse(grant.expiresAt)),
          grant.scope,
          grant.ticketId,
          String(now()),
          grant.taskId,
          grant.tool,
          grant.callHash ?? '',
        ),
      );
    },

    async consume(query): Promise<StoredGrant | undefined> {
      const reply = (await guard(() =>
        redis.eval(
          CONSUME,
          2,
          callKey(query.callHash),
          toolKey(query.taskId, query.tool),
          grantKeyPrefix,
          String(now()),
          query.taskId,
          query.tool,
          query.callHash,
        ),
      )) as [string, number] | null;
      if (reply === null) return undefined;
      let grant: Omit<StoredGrant, 'usesLeft'>;
      try {
        grant = JSON.parse(reply[0]) as Omit<StoredGrant, 'usesLeft'>;
      } catch {
        throw new ApprovalError('STORE_UNAVAILABLE', 'a grant record is malformed');
      }
      return { ...grant, usesLeft: Number(reply[1]) };
    },

    async endTask(taskId: string): Promise<void> {
      await guard(() =>
        redis.eval(END_TASK, 2, taskKey(taskId), endedKey(taskId), grantKeyPrefix, String(endedTaskMs)),
      );
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}
