/**
 * Tasks for MCP sessions and 2026-07-28 requests. A session whose credential names a task (task tokens)
 * works under that task while it is live; any other session gets an implicit task of its own
 * (`session-<id>`), ended when the session closes. A 2026-07-28 request without a task token or task
 * handle starts an implicit task of its own, which has no close: it lives `requestTaskIdleSeconds` past
 * its last request (each request that echoes its handle extends it, never past `implicitTtlSeconds` from
 * its start). Implicit tasks stay readable `IMPLICIT_TASK_RETENTION_SECONDS` after they end, not the store's
 * default hour: agents that open and close sessions, or send requests without echoing the handle, would
 * otherwise leave an hour of records behind at their request rate. Also remembers each live task's expiry,
 * so credentials minted for a call never outlive the task without a store read per call.
 */
import type { Context } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import type { TaskFacts } from '../../../policies/types.js';
import { GatewayError, type Principal } from '../../kernel/index.js';
import { createRequestTaskCap } from './request-task-cap.js';
import { createTaskStateSource, type TaskStateSource } from './task-state.js';
import { TaskEndedError, TaskNotFoundError } from './errors.js';
import { isTaskLive, type OpenTaskTrace, type Task, type TaskStore } from './types.js';

/**
 * A task as an edge receives it: the facts its calls are decided on, and the span its calls are parented
 * on when the task keeps one (`Task.trace`). The trace is not a policy fact: edges take it off the facts.
 */
export interface SessionTask extends TaskFacts {
  trace?: string;
}

export interface SessionTasks {
  /** The task a new session works under; throws when the credential's task has ended. */
  taskForSession(principal: Principal, sessionId: string): Promise<SessionTask>;
  /**
   * A 2026-07-28 request without a task token or handle: a new implicit task, keyed by `key`, its span
   * parented on `parent` (the trace context the request carried).
   */
  startRequestTask(principal: Principal, key: string, parent?: Context): Promise<SessionTask>;
  /**
   * A 2026-07-28 request that echoed the handle of an implicit task: that task, its idle lifetime extended
   * (within the cap); throws when it has ended.
   */
  continueRequestTask(taskId: string): Promise<SessionTask>;
  /** A session closed: forget its task, and end it when it was the session's implicit task. */
  sessionClosed(taskId: string): Promise<void>;
  /** Epoch ms when a task ends, from memory when seen recently, else from the store. */
  expiryOf(taskId: string): Promise<number | undefined>;
  /** The pipeline's task view, remembering the expiry of every live task it reads. */
  readonly states: TaskStateSource;
}

export interface SessionTasksOptions {
  store: TaskStore;
  /** Lifetime of a session's implicit task, and the longest a 2026-07-28 request's implicit task lives. */
  implicitTtlSeconds: number;
  /** How long a 2026-07-28 request's implicit task lives past its last request. */
  requestTaskIdleSeconds: number;
  /** Open implicit tasks of 2026-07-28 requests per agent; one more ends the least recently used. */
  maxRequestTasksPerAgent: number;
  /** Called when a session's task is forgotten (e.g. drop cached credentials of that task). */
  onForget?: (taskId: string) => void;
  /**
   * Called after a session's implicit task has been ended, to end what hangs off it (its approval grants).
   * Best effort, like the end itself: grants of a task also stop applying once the task has expired.
   */
  onImplicitTaskEnded?: (taskId: string) => Promise<void>;
  /**
   * Opens the span a 2026-07-28 request's task keeps. A session's own task has a span that lives with the
   * session instead (the edge's).
   */
  openTrace?: OpenTaskTrace;
  now?: () => number;
}

const IMPLICIT_PREFIX = 'session-';

/** How long an implicit task stays readable (as ended, with its reason) after it ended or expired. */
export const IMPLICIT_TASK_RETENTION_SECONDS = 60;

/** Why a request's implicit task ended when its agent opened more than the cap allows. */
export const DISPLACED_REASON = 'displaced: the agent opened more tasks than limits.maxRequestTasksPerAgent';

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
  const cap = createRequestTaskCap(
    options.maxRequestTasksPerAgent,
    (taskId) => void endImplicit(taskId, DISPLACED_REASON),
  );

  /** Forget an implicit task and end it, with what hangs off it; best effort (it also ends by its TTL). */
  async function endImplicit(taskId: string, reason: string): Promise<void> {
    expiry.delete(taskId);
    options.onForget?.(taskId);
    await options.store.end(taskId, reason).catch(() => undefined);
    await options.onImplicitTaskEnded?.(taskId).catch(() => undefined);
  }

  /** The task, live, its expiry remembered; TASK_ENDED when it has ended or is unknown. */
  async function liveTask(taskId: string): Promise<Task> {
    const task = await options.store.get(taskId);
    if (!isTaskLive(task, now())) throw taskEnded();
    remember(task.id, task.expiresAt);
    return task;
  }

  /** `keptSpan`: the task keeps a span (a request's task), joining `keptSpan.parent`; a session's does not. */
  async function createImplicit(
    principal: Principal,
    key: string,
    ttlSeconds: number,
    keptSpan?: { parent: Context | undefined },
  ): Promise<SessionTask> {
    const created = now();
    const id = `${IMPLICIT_PREFIX}${key}`;
    const intent = 'MCP session';
    const traceparent =
      keptSpan !== undefined
        ? options.openTrace?.({ id, agentId: principal.agentId, intent }, keptSpan.parent)
        : undefined;
    const task = await options.store.create({
      id,
      agentId: principal.agentId,
      ...(principal.tenant !== undefined ? { tenant: principal.tenant } : {}),
      intent,
      ...(traceparent !== undefined ? { trace: traceparent } : {}),
      createdAt: created,
      expiresAt: created + ttlSeconds * 1000,
      retentionSeconds: IMPLICIT_TASK_RETENTION_SECONDS,
    });
    remember(task.id, task.expiresAt);
    return {
      id: task.id,
      intent: task.intent,
      labelsRead: [],
      ...(task.trace !== undefined ? { trace: task.trace } : {}),
    };
  }

  return {
    async taskForSession(principal, sessionId) {
      if (principal.taskId !== undefined) return factsOf(await liveTask(principal.taskId));
      return createImplicit(principal, sessionId, options.implicitTtlSeconds);
    },
    async startRequestTask(principal, key, parent) {
      const facts = await createImplicit(principal, key, options.requestTaskIdleSeconds, { parent });
      cap.use(principal, facts.id);
      return facts;
    },
    async continueRequestTask(taskId) {
      let task = await liveTask(taskId);
      // Extended once half the idle time has passed, so a busy task costs a store write now and then only.
      const idleMs = options.requestTaskIdleSeconds * 1000;
      const capAt = task.createdAt + options.implicitTtlSeconds * 1000;
      if (task.expiresAt - now() < idleMs / 2 && task.expiresAt < capAt) {
        try {
          task = await options.store.renew(taskId, options.requestTaskIdleSeconds, options.implicitTtlSeconds);
        } catch (error) {
          if (error instanceof TaskEndedError || error instanceof TaskNotFoundError) throw taskEnded(error);
          throw error;
        }
        remember(task.id, task.expiresAt);
      }
      cap.use(task, task.id);
      return factsOf(task);
    },
    async sessionClosed(taskId) {
      if (taskId.startsWith(IMPLICIT_PREFIX)) return endImplicit(taskId, 'session closed');
      expiry.delete(taskId);
      options.onForget?.(taskId);
    },
    async expiryOf(taskId) {
      return expiry.get(taskId) ?? (await options.store.get(taskId))?.expiresAt;
    },
    states: {
      async current(taskId, options) {
        const state = await source.current(taskId, options);
        if (state.expiresAt !== undefined) remember(taskId, state.expiresAt);
        return state;
      },
      addLabels: (taskId, labels) => source.addLabels(taskId, labels),
      countCall: (taskId) => source.countCall(taskId),
    },
  };
}

function factsOf(task: Task): SessionTask {
  return {
    id: task.id,
    intent: task.intent,
    ...(task.declaredTools !== undefined ? { declaredTools: task.declaredTools } : {}),
    labelsRead: task.labelsRead,
    ...(task.trace !== undefined ? { trace: task.trace } : {}),
  };
}

function taskEnded(cause?: unknown): GatewayError {
  return new GatewayError('TASK_ENDED', 'the task has ended', undefined, cause !== undefined ? { cause } : undefined);
}
