/**
 * Task store shared by every gateway instance through Redis. State changes are single Lua scripts, so an
 * end, renew or call count on one instance is atomic and seen by the next read on any other instance
 * (nothing is cached locally).
 *
 * Keys (all under `prefix`):
 *   task:{id}         hash: the task fields, `callCount`, `purgeAt` (when the record is dropped) and,
 *                     for a task created with a retention of its own, `retentionMs`
 *   task:{id}:labels  set of data labels read
 *   tasks:all         sorted set of task ids, scored by when their record is dropped (`purgeAt`)
 *   tasks:agent:{id}  the same for one agent's task ids
 * A task record expires `retentionSeconds` (or its own retention) after it ended or expired; an unknown task
 * reads as ended.
 */
import type { Redis } from 'ioredis';
import {
  StoreUnavailableError,
  TaskConflictError,
  TaskEndedError,
  TaskNotFoundError,
  type NewTask,
  type Task,
  type TaskStore,
} from '../services/tasks/index.js';
import { readTaskRecord } from './redis-reads.js';
import { DEFAULT_STORE_TIMEOUT_MS, guardStore } from './store-guard.js';
import type { StoreEpoch } from './redis-epoch.js';

export interface RedisTaskStoreOptions {
  redis: Redis;
  /** Key prefix, e.g. `portcullis:`; keep one per deployment (tests use a fresh one each). */
  prefix: string;
  now?: () => number;
  retentionSeconds?: number;
  /** A Redis reply slower than this fails the operation (closed). Default 2000 ms. */
  timeoutMs?: number;
  /**
   * When set, every read also confirms the store still holds its data (see redis-epoch.ts): an unknown
   * task then means "never existed or purged", never "lost with the store".
   */
  epoch?: StoreEpoch;
}

// The indexes are scored by when each record is dropped: what Redis has dropped is trimmed from them as
// tasks are created (and listed), so they hold no more ids than there are records.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1`;

// A task's own retention (`retentionMs` in its hash) wins over the store's (the last argument).
const END = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'endedAt') == 1 then return 1 end
if tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[1]) then return 1 end
local retention = tonumber(redis.call('HGET', KEYS[1], 'retentionMs') or ARGV[3])
local purgeAt = string.format('%.0f', tonumber(ARGV[1]) + retention)
redis.call('HSET', KEYS[1], 'endedAt', ARGV[1], 'endReason', ARGV[2], 'purgeAt', purgeAt)
redis.call('PEXPIREAT', KEYS[1], purgeAt)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIREAT', KEYS[2], purgeAt) end
redis.call('ZADD', KEYS[3], 'XX', purgeAt, ARGV[4])
redis.call('ZADD', KEYS[4], 'XX', purgeAt, ARGV[4])
return 1`;

const RENEW = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'endedAt') == 1 then return -2 end
local now = tonumber(ARGV[1])
local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
if expiresAt <= now then return -2 end
local createdAt = tonumber(redis.call('HGET', KEYS[1], 'createdAt'))
local target = math.min(tonumber(ARGV[2]), createdAt + tonumber(ARGV[3]))
if target > expiresAt then
  local retention = tonumber(redis.call('HGET', KEYS[1], 'retentionMs') or ARGV[4])
  local purgeAt = string.format('%.0f', target + retention)
  redis.call('HSET', KEYS[1], 'expiresAt', string.format('%.0f', target), 'purgeAt', purgeAt)
  redis.call('PEXPIREAT', KEYS[1], purgeAt)
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIREAT', KEYS[2], purgeAt) end
  redis.call('ZADD', KEYS[3], 'XX', purgeAt, ARGV[5])
  redis.call('ZADD', KEYS[4], 'XX', purgeAt, ARGV[5])
end
return 1`;

const ADD_LABELS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], unpack(ARGV))
redis.call('PEXPIREAT', KEYS[2], redis.call('HGET', KEYS[1], 'purgeAt'))
return 1`;

const INCREMENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'callCount', 1)`;

/** The task keys under `prefix` (shared with the rebuild, which restores task records). */
export function taskKeys(prefix: string) {
  return {
    task: (id: string): string => `${prefix}task:${id}`,
    labels: (id: string): string => `${prefix}task:${id}:labels`,
    all: `${prefix}tasks:all`,
    agent: (agentId: string): string => `${prefix}tasks:agent:${agentId}`,
  };
}

/**
 * The fields of a task's hash as this store writes them at creation (HSET argument pairs); the rebuild after
 * a store loss writes restored tasks through the same encoding.
 */
export function taskHashFields(
  task: {
    agentId: string;
    intent: string;
    createdAt: number;
    expiresAt: number;
    tenant?: string;
    declaredTools?: readonly string[];
    trace?: string;
    retentionSeconds?: number;
  },
  purgeAt: number,
): string[] {
  const fields = [
    'agentId',
    task.agentId,
    'intent',
    task.intent,
    'createdAt',
    String(task.createdAt),
    'expiresAt',
    String(task.expiresAt),
    'callCount',
    '0',
    'purgeAt',
    String(purgeAt),
  ];
  if (task.tenant !== undefined) fields.push('tenant', task.tenant);
  if (task.declaredTools !== undefined) fields.push('declaredTools', JSON.stringify(task.declaredTools));
  if (task.trace !== undefined) fields.push('trace', task.trace);
  if (task.retentionSeconds !== undefined) fields.push('retentionMs', String(task.retentionSeconds * 1000));
  return fields;
}

export function createRedisTaskStore(options: RedisTaskStoreOptions): TaskStore {
  const { redis, prefix } = options;
  const now = options.now ?? Date.now;
  const retentionMs = (options.retentionSeconds ?? 3600) * 1000;
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const keys = taskKeys(prefix);
  const { task: taskKey, labels: labelsKey, all: allKey, agent: agentKey } = keys;
  const guard = <T>(operation: () => Promise<T>): Promise<T> => guardStore(operation, timeoutMs);

  /** `at`: the instant the task is judged at (expired or not), that of the read. */
  function parse(id: string, hash: Record<string, string>, labels: string[], at: number): Task | undefined {
    if (Object.keys(hash).length === 0) return undefined;
    const createdAt = Number(hash['createdAt']);
    const expiresAt = Number(hash['expiresAt']);
    const callCount = Number(hash['callCount'] ?? '0');
    if (
      hash['agentId'] === undefined ||
      hash['intent'] === undefined ||
      !Number.isFinite(createdAt) ||
      !Number.isFinite(expiresAt)
    ) {
      throw new StoreUnavailableError('task record is malformed');
    }
    const task: Task = {
      id,
      agentId: hash['agentId'],
      intent: hash['intent'],
      createdAt,
      expiresAt,
      labelsRead: [...labels].sort(),
      callCount,
    };
    if (hash['tenant'] !== undefined) task.tenant = hash['tenant'];
    if (hash['declaredTools'] !== undefined) {
      let tools: unknown;
      try {
        tools = JSON.parse(hash['declaredTools']);
      } catch {
        throw new StoreUnavailableError('task record is malformed');
      }
      if (!Array.isArray(tools) || !tools.every((t) => typeof t === 'string'))
        throw new StoreUnavailableError('task record is malformed');
      task.declaredTools = tools;
    }
    if (hash['trace'] !== undefined) task.trace = hash['trace'];
    if (hash['endedAt'] !== undefined) {
      task.endedAt = Number(hash['endedAt']);
      task.endReason = hash['endReason'] ?? 'ended';
    } else if (expiresAt <= at) {
      task.endedAt = expiresAt;
      task.endReason = 'expired';
    }
    return task;
  }

  /**
   * The task, judged expired or not at the instant of the read; `countCall`: one call counted on it in the
   * same script when it is live at that instant, so the count and the task returned agree.
   */
  async function read(id: string, countCall = false): Promise<Task | undefined> {
    const epoch = options.epoch;
    const at = now();
    const record = await guard(() =>
      readTaskRecord(redis, taskKey(id), labelsKey(id), {
        epochKey: epoch?.key,
        countCallAt: countCall ? at : undefined,
      }),
    );
    epoch?.confirm(record.epoch ?? null);
    return parse(id, record.value.hash, record.value.labels, at);
  }

  /** The agent a task belongs to (for its index key); TaskNotFoundError when the record is gone. */
  async function agentOf(id: string): Promise<string> {
    const agentId = await guard(() => redis.hget(taskKey(id), 'agentId'));
    if (agentId === null) throw new TaskNotFoundError();
    return agentId;
  }

  async function mustRead(id: string): Promise<Task> {
    const task = await read(id);
    if (task === undefined) throw new TaskNotFoundError();
    return task;
  }

  return {
    async create(task: NewTask) {
      const purgeAt =
        task.expiresAt + (task.retentionSeconds !== undefined ? task.retentionSeconds * 1000 : retentionMs);
      const fields = taskHashFields(task, purgeAt);
      const created = await guard(() =>
        redis.eval(
          CREATE,
          3,
          taskKey(task.id),
          allKey,
          agentKey(task.agentId),
          task.id,
          String(purgeAt),
          String(now()),
          ...fields,
        ),
      );
      if (created !== 1) throw new TaskConflictError();
      return mustRead(task.id);
    },

    get: (id) => read(id),
    getAndCountCall: (id) => read(id, true),

    async end(id, reason) {
      const agentId = await agentOf(id);
      const t = now();
      const found = await guard(() =>
        redis.eval(
          END,
          4,
          ...[taskKey(id), labelsKey(id), allKey, agentKey(agentId)],
          ...[String(t), reason, String(retentionMs), id],
        ),
      );
      if (found !== 1) throw new TaskNotFoundError();
      return mustRead(id);
    },

    async list(filter = {}) {
      const index = filter.agentId !== undefined ? agentKey(filter.agentId) : allKey;
      await guard(() => redis.zremrangebyscore(index, '-inf', String(now())));
      const ids = await guard(() => redis.zrange(index, '0', '-1'));
      const tasks: Task[] = [];
      const gone: string[] = [];
      for (const id of ids) {
        const task = await read(id);
        if (task === undefined) gone.push(id);
        else if (task.endedAt === undefined || filter.includeEnded === true) tasks.push(task);
      }
      if (gone.length > 0) await guard(() => redis.zrem(index, ...gone));
      return tasks.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },

    async renew(id, ttlSeconds, capSeconds) {
      const agentId = await agentOf(id);
      const t = now();
      const result = await guard(() =>
        redis.eval(
          RENEW,
          4,
          ...[taskKey(id), labelsKey(id), allKey, agentKey(agentId)],
          ...[String(t), String(t + ttlSeconds * 1000), String(capSeconds * 1000), String(retentionMs), id],
        ),
      );
      if (result === -1) throw new TaskNotFoundError();
      if (result === -2) throw new TaskEndedError();
      return mustRead(id);
    },

    async addLabels(id, labels) {
      if (labels.length === 0) {
        await mustRead(id);
        return;
      }
      const found = await guard(() => redis.eval(ADD_LABELS, 2, taskKey(id), labelsKey(id), ...labels));
      if (found !== 1) throw new TaskNotFoundError();
    },

    async incrementCalls(id) {
      const count = await guard(() => redis.eval(INCREMENT, 1, taskKey(id)));
      if (typeof count !== 'number') throw new StoreUnavailableError('unexpected reply from state store');
      if (count < 0) throw new TaskNotFoundError();
      return count;
    },

    // The Redis connection belongs to the caller (it is shared with other stores).
    async close() {},
  };
}
