/**
 * The approval task records of 2026-07-28 agents (see services/approvals/approval-tasks.ts): in memory for
 * one process, in Redis for several instances. In Redis a record is one JSON string under
 * `{prefix}approval-task:{id}` that expires with the task, and ending it is one Lua script (compare the
 * status, then set, keeping the expiry), so two instances cannot both end the same task.
 */
import type { Redis } from 'ioredis';
import type { ApprovalTask, ApprovalTaskStore } from '../services/approvals/index.js';
import { guardStore } from './store-guard.js';

export function createMemoryApprovalTaskStore(now: () => number = Date.now): ApprovalTaskStore {
  const tasks = new Map<string, { task: ApprovalTask; dropAt: number }>();
  const live = (id: string): ApprovalTask | undefined => {
    const entry = tasks.get(id);
    if (entry === undefined) return undefined;
    if (entry.dropAt <= now()) {
      tasks.delete(id);
      return undefined;
    }
    return entry.task;
  };
  return {
    async create(task) {
      const at = now();
      for (const [id, entry] of tasks) if (entry.dropAt <= at) tasks.delete(id);
      tasks.set(task.id, { task: structuredClone(task), dropAt: Date.parse(task.createdAt) + task.ttlMs });
    },
    async get(id) {
      const task = live(id);
      return task === undefined ? undefined : structuredClone(task);
    },
    async finish(id, end) {
      const task = live(id);
      if (task === undefined || task.status !== 'working') return false;
      Object.assign(task, structuredClone(end));
      return true;
    },
  };
}

// KEYS[1] the record (hash: `status`, `task` as JSON); ARGV[1] the end status, ARGV[2] the ended task as
// JSON. Ends a working task (HSET keeps the key's expiry); 1 when it did.
const FINISH = `
if redis.call('HGET', KEYS[1], 'status') ~= 'working' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'task', ARGV[2])
return 1
`;

export function createRedisApprovalTaskStore(options: { redis: Redis; prefix: string }): ApprovalTaskStore {
  const { redis } = options;
  const key = (id: string) => `${options.prefix}approval-task:${id}`;
  async function get(id: string): Promise<ApprovalTask | undefined> {
    const text = await guardStore(() => redis.hget(key(id), 'task'));
    return text === null ? undefined : (JSON.parse(text) as ApprovalTask);
  }
  return {
    async create(task) {
      const ttlMs = Math.max(1, Date.parse(task.createdAt) + task.ttlMs - Date.now());
      const replies = await guardStore(() =>
        redis
          .multi()
          .hset(key(task.id), 'status', task.status, 'task', JSON.stringify(task))
          .pexpire(key(task.id), ttlMs)
          .exec(),
      );
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (replies === null || failed !== undefined) {
        await guardStore(() => Promise.reject(failed ?? new Error('transaction discarded')));
      }
    },
    get,
    async finish(id, end) {
      // The rest of a record never changes after creation: only the status decides who ends it.
      const task = await get(id);
      if (task === undefined || task.status !== 'working') return false;
      const ended = JSON.stringify({ ...task, ...end });
      return (await guardStore(() => redis.eval(FINISH, 1, key(id), end.status, ended))) === 1;
    },
  };
}
