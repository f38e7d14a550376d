/**
 * Task identity for 2026-07-28 requests, which have no session to carry a task:
 *
 * 1. A task token as the request's bearer names its task (as it does for a 2025 session).
 * 2. Otherwise the request may carry a task handle in `_meta["portcullis/task"]`: a sealed value the gateway
 *    returned in the `_meta` of an earlier result, bound to the principal and valid while its task lives.
 *    The agent echoes it on every request of the same piece of work.
 * 3. Otherwise the request starts a new implicit task, and its result's `_meta` carries the handle. Such a
 *    task lives a while past its last request (`limits.requestTaskIdleSeconds`, session-tasks.ts): each
 *    request that echoes the handle extends it, and one that comes back later finds it ended.
 *
 * A handle that is not intact, was issued to another principal or has expired is refused (STATE_* codes),
 * never silently replaced: a grant, a limit or an audit trail would otherwise lose its unit.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import type { TaskFacts } from '../../../policies/types.js';
import type { Principal } from '../../kernel/index.js';
import type { SessionTask } from '../../services/tasks/index.js';
import { principalDigest, type StateSealer } from './sealed-state.js';
import { splitTaskTrace } from './task-trace.js';

export const TASK_HANDLE_META_KEY = 'portcullis/task';

export interface ModernTasksOptions {
  sealer: StateSealer;
  /** The live task a task token names (`principal.taskId`); throws when it has ended. */
  taskFor: (principal: Principal, taskId: string) => Promise<SessionTask>;
  /**
   * A new implicit task for a request without a token or handle, keyed by `key`, its span parented on
   * `parent` (the request's own trace context).
   */
  startTask: (principal: Principal, key: string, parent?: Context) => Promise<SessionTask>;
  /** The implicit task a handle names, kept alive by this request; throws when it has ended. */
  continueTask: (taskId: string) => Promise<SessionTask>;
  /**
   * How long a handle stays valid: the longest an implicit task can live. The task itself may end sooner
   * (idle, or ended), which the store says when the handle comes back.
   */
  handleTtlSeconds: number;
  now?: () => number;
}

export interface ModernTask {
  facts: TaskFacts;
  /** The handle to return in the result's `_meta` (absent for task tokens: the token names the task). */
  handle?: string;
  /** The task's span as a `traceparent`: the request's calls are its children. Absent when tracing is off. */
  trace?: string;
}

export interface ModernTasks {
  /** `traceContext`: the request's own trace, which a task the request starts joins. */
  resolve(principal: Principal, meta: Record<string, unknown> | undefined, traceContext?: Context): Promise<ModernTask>;
}

export function createModernTasks(options: ModernTasksOptions): ModernTasks {
  const now = options.now ?? Date.now;
  function handleFor(principal: Principal, task: TaskFacts): string {
    return options.sealer.seal({
      k: 'task',
      p: principalDigest(principal),
      exp: Math.floor((now() + options.handleTtlSeconds * 1000) / 1000),
      t: task.id,
    });
  }
  return {
    async resolve(principal, meta, traceContext) {
      if (principal.taskId !== undefined) return splitTaskTrace(await options.taskFor(principal, principal.taskId));
      const echoed = meta?.[TASK_HANDLE_META_KEY];
      if (echoed !== undefined) {
        const payload = options.sealer.open(echoed, { kind: 'task', principal });
        return { ...splitTaskTrace(await options.continueTask(payload.t ?? '')), handle: echoed as string };
      }
      const started = splitTaskTrace(await options.startTask(principal, `m-${randomUUID()}`, traceContext));
      return { ...started, handle: handleFor(principal, started.facts) };
    },
  };
}
