/**
 * Opening, ending and renewing tasks. Opening a task returns the task token the agent presents to the
 * gateway; ending it (or its TTL) makes that token stop working on every instance (the token authenticator
 * asks the revocation store, which asks the task store), and its call credentials stop introspecting as
 * active; ending it also removes its approval grants (`onEnded`).
 *
 * Rules: a task token cannot open further tasks (a task is one unit of work, not a way to extend one); a
 * disabled agent cannot open tasks; an agent sees, renews and ends only its own tasks (other agents'
 * tasks read as not found); the tenant of a task is the principal's tenant, never one the caller picks.
 * Each grant is at most `maxTtlSeconds`; renewals never take a task past `maxLifetimeSeconds` after it
 * was opened.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import type { AuditSink } from '../audit/index.js';
import type { Principal, Secret } from '../../kernel/index.js';
import type { CredentialIssuer } from '../credentials/index.js';
import type { RevocationStore } from '../revocation/index.js';
import { TaskEndedError, TaskNotFoundError } from './errors.js';
import type { OpenTaskTrace, Task, TaskStore } from './types.js';
import type { ErrorCode } from '../../kernel/index.js';

export type TaskServiceErrorCode = Extract<ErrorCode, 'INVALID_ARGUMENTS' | 'FORBIDDEN'>;

export class TaskServiceError extends Error {
  override readonly name = 'TaskServiceError';
  constructor(
    readonly code: TaskServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TaskServiceOptions {
  store: TaskStore;
  revocation: RevocationStore;
  issuer: CredentialIssuer;
  audit?: AuditSink;
  /** Longest single grant (open or renew). */
  maxTtlSeconds: number;
  /** Grant when the caller names none (default 300 s, never above the max). */
  defaultTtlSeconds?: number;
  /** Longest total life of a task across renewals (default 8 h). */
  maxLifetimeSeconds?: number;
  /**
   * Called once a task has ended in the store, to end what hangs off it (its approval grants). A failure
   * does not undo the end (the task's credentials are already refused); it is recorded on the `task.end`
   * audit record as `detail.cleanup: "failed"`.
   */
  onEnded?: (taskId: string) => Promise<void>;
  /** Opens the span the task keeps: its calls, from any session, request or instance, are its children. */
  openTrace?: OpenTaskTrace;
  now?: () => number;
}

export interface OpenTaskRequest {
  intent: string;
  tenant?: string;
  declaredTools?: readonly string[];
  ttlSeconds?: number;
  /** The trace context of the request that opened the task: the task's span joins that trace. */
  traceContext?: Context;
}

export interface IssuedTask {
  task: Task;
  /** The task token; reveal it only into the response to the caller. */
  token: Secret;
  /** Token expiry, epoch ms (equals the task's expiry). */
  expiresAt: number;
}

/** Who ends a task: the agent itself (its principal) or an operator. */
export type TaskActor = Principal | { operator: string };

export interface TaskService {
  open(principal: Principal, request: OpenTaskRequest): Promise<IssuedTask>;
  /** A task of this principal; TaskNotFoundError for unknown tasks and tasks of other agents. */
  get(id: string, principal: Principal): Promise<Task>;
  list(principal: Principal, options?: { includeEnded?: boolean }): Promise<Task[]>;
  end(id: string, actor: TaskActor, reason?: string): Promise<Task>;
  renew(id: string, principal: Principal, ttlSeconds?: number): Promise<IssuedTask>;
}

function isOperator(actor: TaskActor): actor is { operator: string } {
  return 'operator' in actor;
}

export function createTaskService(options: TaskServiceOptions): TaskService {
  const { store, revocation, issuer, audit } = options;
  const now = options.now ?? Date.now;
  const maxTtl = options.maxTtlSeconds;
  if (!Number.isInteger(maxTtl) || maxTtl <= 0) throw new TypeError('maxTtlSeconds must be a positive integer');
  const defaultTtl = Math.min(options.defaultTtlSeconds ?? 300, maxTtl);
  const maxLifetime = Math.max(options.maxLifetimeSeconds ?? 8 * 3600, maxTtl);

  function grant(ttlSeconds: number | undefined): number {
    if (ttlSeconds === undefined) return defaultTtl;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
      throw new TaskServiceError('INVALID_ARGUMENTS', 'ttlSeconds must be a positive integer');
    return Math.min(ttlSeconds, maxTtl);
  }

  async function own(id: string, principal: Principal): Promise<Task> {
    const task = await store.get(id);
    if (task === undefined || task.agentId !== principal.agentId) throw new TaskNotFoundError();
    return task;
  }

  async function issue(task: Task): Promise<IssuedTask> {
    const ttlSeconds = Math.floor((task.expiresAt - now()) / 1000);
    if (ttlSeconds <= 0) throw new TaskEndedError();
    const minted = await issuer.mintTaskToken({
      taskId: task.id,
      agentId: task.agentId,
      ttlSeconds,
      ...(task.tenant !== undefined ? { tenant: task.tenant } : {}),
    });
    return { task, token: minted.token, expiresAt: minted.expiresAt };
  }

  return {
    async open(principal, request) {
      if (principal.authMethod === 'task-token') {
        throw new TaskServiceError('FORBIDDEN', 'a task token cannot open another task');
      }
      if (await revocation.isAgentDisabled(principal.agentId))
        throw new TaskServiceError('FORBIDDEN', 'agent is disabled');
      if (request.tenant !== undefined && request.tenant !== principal.tenant) {
        throw new TaskServiceError('FORBIDDEN', 'tenant does not match the caller');
      }
      if (typeof request.intent !== 'string' || request.intent.trim() === '') {
        throw new TaskServiceError('INVALID_ARGUMENTS', 'intent is required');
      }
      const ttl = grant(request.ttlSeconds);
      const createdAt = now();
      const id = `t_${randomBytes(16).toString('base64url')}`;
      const trace = options.openTrace?.(
        { id, agentId: principal.agentId, intent: request.intent },
        request.traceContext,
      );
      const task = await store.create({
        id,
        agentId: principal.agentId,
        intent: request.intent,
        ...(trace !== undefined ? { trace } : {}),
        createdAt,
        expiresAt: createdAt + ttl * 1000,
        ...(principal.tenant !== undefined ? { tenant: principal.tenant } : {}),
        ...(request.declaredTools !== undefined ? { declaredTools: [...request.declaredTools] } : {}),
      });
      try {
        const issued = await issue(task);
        await audit?.append({
          event: 'task.open',
          decision: 'allow',
          agentId: task.agentId,
          taskId: task.id,
          ...(task.tenant !== undefined ? { tenant: task.tenant } : {}),
          detail: {
            intent: task.intent,
            declaredTools: task.declaredTools ?? null,
            expiresAt: new Date(task.expiresAt).toISOString(),
          },
        });
        return issued;
      } catch (error) {
        // No token may exist for a task that could not be recorded.
        await store.end(task.id, 'open failed').catch(() => undefined);
        throw error;
      }
    },

    get: own,

    async list(principal, listOptions = {}) {
      return store.list({ agentId: principal.agentId, includeEnded: listOptions.includeEnded === true });
    },

    async end(id, actor, reason) {
      if (isOperator(actor)) {
        if ((await store.get(id)) === undefined) throw new TaskNotFoundError();
      } else {
        await own(id, actor);
      }
      const actorName = isOperator(actor) ? `operator:${actor.operator}` : `agent:${actor.agentId}`;
      const ended = await store.end(id, reason ?? `ended by ${actorName}`);
      issuer.forgetTask(id);
      const cleanup = await (options.onEnded?.(id) ?? Promise.resolve()).then(
        () => 'done' as const,
        () => 'failed' as const,
      );
      await audit?.append({
        event: 'task.end',
        agentId: ended.agentId,
        taskId: ended.id,
        actor: actorName,
        ...(ended.tenant !== undefined ? { tenant: ended.tenant } : {}),
        ...(ended.endReason !== undefined ? { reason: ended.endReason } : {}),
        ...(cleanup === 'failed' ? { detail: { cleanup } } : {}),
      });
      return ended;
    },

    async renew(id, principal, ttlSeconds) {
      const task = await own(id, principal);
      if (task.endedAt !== undefined) throw new TaskEndedError();
      if (await revocation.isAgentDisabled(principal.agentId))
        throw new TaskServiceError('FORBIDDEN', 'agent is disabled');
      const renewed = await store.renew(id, grant(ttlSeconds), maxLifetime);
      return issue(renewed);
    },
  };
}
