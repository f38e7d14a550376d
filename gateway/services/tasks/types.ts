/**
 * Tasks: one unit of an agent's work. A task token is only as alive as its task; ending the task (or its
 * TTL running out) revokes the token and every call credential minted for it, on every instance that
 * shares the store.
 */
import type { Context } from '@opentelemetry/api';

export interface Task {
  id: string;
  agentId: string;
  tenant?: string;
  /** Declared intent, free text. */
  intent: string;
  /** Tools the task expects to use (exposed names or globs). */
  declaredTools?: readonly string[];
  /**
   * The task's span as a W3C `traceparent`, for tasks that outlive any one connection (opened through the
   * tasks API, or by a 2026-07-28 request): every call of the task, on any instance, is its child. Absent
   * when tracing is off, and for a 2025 session's own task, whose span lives with the session.
   */
  trace?: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; the task reads as ended from this moment on. */
  expiresAt: number;
  /** Epoch ms; set when ended explicitly or by expiry (then equal to `expiresAt`). */
  endedAt?: number;
  /** Why it ended: free text from the actor, or `expired`. */
  endReason?: string;
  /** Data labels read during the task (for data-flow rules). */
  labelsRead: readonly string[];
  /** Number of tool calls counted so far (for budgets). */
  callCount: number;
}

export type NewTask = Pick<
  Task,
  'id' | 'agentId' | 'tenant' | 'intent' | 'declaredTools' | 'trace' | 'createdAt' | 'expiresAt'
> & {
  /**
   * How long the record stays readable after the task ended or expired; the store's own retention when
   * absent. An unknown task reads as ended, so a short retention never revives anything.
   */
  retentionSeconds?: number;
};

export interface TaskListFilter {
  agentId?: string;
  /** Include ended and expired tasks still retained by the store (default false). */
  includeEnded?: boolean;
}

/**
 * Task state. Every method that cannot reach its backing store throws StoreUnavailableError: callers
 * deciding on access treat that as "ended" (fail closed).
 */
export interface TaskStore {
  /** Create a task; throws TaskConflictError when the id exists. */
  create(task: NewTask): Promise<Task>;
  /** The task, or undefined when unknown. An expired task is returned as ended (`endReason: expired`). */
  get(id: string): Promise<Task | undefined>;
  /**
   * `get`, and when the task is live (isTaskLive at the store's clock) one call counted on it in the same
   * atomic step: the task returned shows that count. A call's admission and its count are one operation, one
   * round trip to a shared store. An ended, expired or unknown task is read and not counted.
   */
  getAndCountCall(id: string): Promise<Task | undefined>;
  /** End a task (idempotent: the first end wins). Throws TaskNotFoundError for an unknown id. */
  end(id: string, reason: string): Promise<Task>;
  list(filter?: TaskListFilter): Promise<Task[]>;
  /**
   * Extend a live task to `min(now + ttlSeconds, createdAt + capSeconds)` (never shortens it).
   * Throws TaskNotFoundError / TaskEndedError.
   */
  renew(id: string, ttlSeconds: number, capSeconds: number): Promise<Task>;
  /** Add data labels to a task's read set. Throws TaskNotFoundError. */
  addLabels(id: string, labels: readonly string[]): Promise<void>;
  /** Atomically count one call; returns the new count. Throws TaskNotFoundError. */
  incrementCalls(id: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens the span of a task that outlives any one connection and returns its `traceparent` for the task to
 * keep (telemetry's `openTaskTrace`), the span joining `parent`, the trace of the request that opened the
 * task; undefined while tracing is off.
 */
export type OpenTaskTrace = (
  task: { id: string; agentId: string; intent: string },
  parent?: Context,
) => string | undefined;

export function isTaskLive(task: Task | undefined, now: number): task is Task {
  return task !== undefined && task.endedAt === undefined && task.expiresAt > now;
}
