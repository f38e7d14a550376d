/**
 * In-process task store for a single gateway instance. Ended and expired tasks are kept for
 * `retentionSeconds`, or the task's own retention when it was created with one (so they keep reading as
 * ended, with their reason), and then dropped (swept when tasks are listed, and at most once a second when
 * tasks are created); an unknown task is treated as ended by every caller, so dropping is safe.
 */
import {
  isTaskLive,
  TaskConflictError,
  TaskEndedError,
  TaskNotFoundError,
  type NewTask,
  type Task,
  type TaskStore,
} from '../services/tasks/index.js';

export interface MemoryTaskStoreOptions {
  now?: () => number;
  /** How long ended/expired tasks stay readable (default 3600 s). */
  retentionSeconds?: number;
}

interface Entry {
  task: Omit<Task, 'labelsRead'>;
  labels: Set<string>;
  /** This task's retention, when it was created with one of its own. */
  retentionMs?: number;
}

export function createMemoryTaskStore(options: MemoryTaskStoreOptions = {}): TaskStore {
  const now = options.now ?? Date.now;
  const retentionMs = (options.retentionSeconds ?? 3600) * 1000;
  const entries = new Map<string, Entry>();

  /** The task as read at `t` (expired or not at that instant). */
  function view(entry: Entry, t = now()): Task {
    const task: Task = { ...entry.task, labelsRead: [...entry.labels].sort() };
    if (task.declaredTools !== undefined) task.declaredTools = [...task.declaredTools];
    if (task.endedAt === undefined && task.expiresAt <= t) {
      task.endedAt = task.expiresAt;
      task.endReason = 'expired';
    }
    return task;
  }

  /** Creating a task sweeps at most once per this long: a sweep walks every entry. */
  const sweepEveryMs = Math.min(retentionMs, 1000);
  let nextSweep = Number.NEGATIVE_INFINITY;

  function pruneNowAndThen(): void {
    const t = now();
    if (t < nextSweep) return;
    nextSweep = t + sweepEveryMs;
    prune();
  }

  function prune(): void {
    const t = now();
    for (const [id, entry] of entries) {
      const over = entry.task.endedAt ?? entry.task.expiresAt;
      if (over <= t - (entry.retentionMs ?? retentionMs)) entries.delete(id);
    }
  }

  function live(id: string): Entry {
    const entry = entries.get(id);
    if (entry === undefined) throw new TaskNotFoundError();
    return entry;
  }

  return {
    async create(task: NewTask) {
      pruneNowAndThen();
      if (entries.has(task.id)) throw new TaskConflictError();
      const stored: Entry['task'] = {
        id: task.id,
        agentId: task.agentId,
        intent: task.intent,
        createdAt: task.createdAt,
        expiresAt: task.expiresAt,
        callCount: 0,
      };
      if (task.tenant !== undefined) stored.tenant = task.tenant;
      if (task.declaredTools !== undefined) stored.declaredTools = [...task.declaredTools];
      if (task.trace !== undefined) stored.trace = task.trace;
      const entry: Entry = { task: stored, labels: new Set() };
      if (task.retentionSeconds !== undefined) entry.retentionMs = task.retentionSeconds * 1000;
      entries.set(task.id, entry);
      return view(entry);
    },

    async get(id) {
      const entry = entries.get(id);
      return entry === undefined ? undefined : view(entry);
    },

    async getAndCountCall(id) {
      const entry = entries.get(id);
      if (entry === undefined) return undefined;
      const t = now();
      const task = view(entry, t);
      if (isTaskLive(task, t)) task.callCount = ++entry.task.callCount;
      return task;
    },

    async end(id, reason) {
      const entry = live(id);
      const current = view(entry);
      if (current.endedAt === undefined) {
        entry.task.endedAt = now();
        entry.task.endReason = reason;
      }
      return view(entry);
    },

    async list(filter = {}) {
      prune();
      const tasks: Task[] = [];
      for (const entry of entries.values()) {
        if (filter.agentId !== undefined && entry.task.agentId !== filter.agentId) continue;
        const task = view(entry);
        if (task.endedAt !== undefined && filter.includeEnded !== true) continue;
        tasks.push(task);
      }
      return tasks.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },

    async renew(id, ttlSeconds, capSeconds) {
      const entry = live(id);
      const current = view(entry);
      if (current.endedAt !== undefined) throw new TaskEndedError();
      const target = Math.min(now() + ttlSeconds * 1000, entry.task.createdAt + capSeconds * 1000);
      entry.task.expiresAt = Math.max(entry.task.expiresAt, target);
      return view(entry);
    },

    async addLabels(id, labels) {
      const entry = live(id);
      for (const label of labels) entry.labels.add(label);
    },

    async incrementCalls(id) {
      const entry = live(id);
      entry.task.callCount += 1;
      return entry.task.callCount;
    },

    async close() {
      entries.clear();
    },
  };
}
