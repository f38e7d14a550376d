/**
 * Tasks for MCP sessions. A session whose credential names a task (task tokens) works under that task
 * while it is live; any other session gets an implicit task of its own (`session-<id>`), ended when the
 * session closes. Also remembers each live task's expiry, so credentials minted for a call never outlive
 * the task without a store read per call.
 */
import { LRUCache } from 'lru-cache';
import type { TaskFacts } from '../../../policies/types.js';
import type { Principal } from '../../kernel/index.js';
import { createTaskStateSource, type TaskStateSource } from './task-state.js';
import { isTaskLive, type TaskStore } from './types.js';

export interface SessionTasks {
  /** The task a new session works under; throws when the credential's task has ended. */
  taskForSession(principal: Principal, sessionId: string): Promise<TaskFacts>;
  /** A session closed: forget its task, and end it when it was the session's implicit task. */
  sessionClosed(taskId: string): Promise<void>;
  /** Epoch ms when a task ends, from memory when seen recently, else from the store. */
  expiryOf(taskId: string): Promise<number | undefined>;
  /** The pipeline's task view, remembering the expiry of every live task it reads. */
  readonly states: TaskStateSource;
}

export interface SessionTasksOptions {
  store: TaskStore;
  implicitTtlSeconds: number;
  /** Called when a session's task is forgotten (e.g. drop cached credentials of that task). */
  onForget?: (taskId: string) => void;
  /**
   * Called after a session's implicit task has been ended, to end what hangs off it (its approval grants).
   * Best effort, like the end itself: grants of a task also stop applying once the task has expired.
   */
  onImplicitTaskEnded?: (taskId: string) => Promise<void>;
  now?: () => number;
}

const IMPLICIT_PREFIX = 'session-';

/**
 * Expiries remembered at most; the least recently seen is forgotten first, and a forgotten one is read from
 * the store again. Without a bound the map would grow with every task: a 2026-07-28 request that does not
 * echo its task handle starts a new task, and has no session whose close would forget it.
 */
export const REMEMBERED_EXPIRIES = 10_000;

export function createSessionTasks(options: SessionTasksOptions): SessionTasks {
  const now = options.now ?? Date.now;
  const expiry = new LRUCache<string, number>({ max: REMEMBERED_EXPIRIES });
  const remember = (taskId: string, expiresAt: number): void => void expiry.set(taskId, expiresAt);
  const source = createTaskStateSource(options.store, now);
  return {
    async taskForSession(principal, sessionId) {
      if (principal.taskId !== undefined) {
        const task = await options.store.get(principal.taskId);
        if (!isTaskLive(task, now())) throw new Error('task has ended');
        remember(task.id, task.expiresAt);
        return {
          id: task.id,
          intent: task.intent,
          ...(task.declaredTools !== undefined ? { declaredTools: task.declaredTools } : {}),
          labelsRead: task.labelsRead,
        };
      }
      const created = now();
      const task = await options.store.create({
        id: `${IMPLICIT_PREFIX}${sessionId}`,
        agentId: principal.agentId,
        ...(principal.tenant !== undefined ? { tenant: principal.tenant } : {}),
        intent: 'MCP session',
        createdAt: created,
        expiresAt: created + options.implicitTtlSeconds * 1000,
      });
      remember(task.id, task.expiresAt);
      return { id: task.id, intent: task.intent, labelsRead: [] };
    },
    async sessionClosed(taskId) {
      expiry.delete(taskId);
      options.onForget?.(taskId);
      // Best effort: an implicit task also ends by its TTL if the store cannot be reached now.
      if (!taskId.startsWith(IMPLICIT_PREFIX)) return;
      await options.store.end(taskId, 'session closed').catch(() => undefined);
      await options.onImplicitTaskEnded?.(taskId).catch(() => undefined);
    },
    async expiryOf(taskId) {
      return expiry.get(taskId) ?? (await options.store.get(taskId))?.expiresAt;
    },
    states: {
      async current(taskId) {
        const state = await source.current(taskId);
        if (state.expiresAt !== undefined) remember(taskId, state.expiresAt);
        return state;
      },
      addLabels: (taskId, labels) => source.addLabels(taskId, labels),
      countCall: (taskId) => source.countCall(taskId),
    },
  };
}
