/**
 * Approvals as tasks, for 2026-07-28 agents that negotiate the MCP Tasks extension
 * (`io.modelcontextprotocol/tasks`, declared under `extensions` in the request's client capabilities).
 *
 * A `tools/call` that needs an operator's approval answers at once with a task (`resultType: "task"`,
 * status `working`, a status message naming the approval request) instead of waiting (`wait` mode) or
 * answering APPROVAL_PENDING (`return` mode). The instance that accepted the call follows the approval
 * request (the queue's wait wakes on a decision made on any instance):
 *
 * - approved: the call runs again through the whole pipeline, under the grant bound to exactly this call
 *   (policy, credentials, tracing and audit as for any call), and the task completes with the tool result;
 * - denied or expired: the task fails with APPROVAL_DENIED or APPROVAL_EXPIRED, and nothing is run;
 * - the instance stops first: the task fails with SHUTTING_DOWN (the agent calls again; an approval given
 *   meanwhile still covers the same call in the same task).
 *
 * `tasks/get` on any instance also ends a working task whose request was denied or has expired, so those
 * outcomes do not depend on the accepting instance. An approved call runs only there: if that process dies
 * without stopping, its task stays `working` until its record expires.
 *
 * Task records live in the gateway's state store (services/approvals/approval-tasks.ts), so `tasks/get`
 * and `tasks/cancel` are answered on any instance. A task belongs to the principal that created it; to any
 * other principal it does not exist (NOT_FOUND, the same answer as an unknown id). The record keeps no
 * call arguments: only this instance's memory holds the call until it runs.
 *
 * Not offered: `input_required` tasks (a backend that asks the agent something while a task runs is
 * answered NOT_SUPPORTED, so `tasks/update` always refuses) and `notifications/tasks` (agents poll).
 */
import { randomUUID } from 'node:crypto';
import {
  hasTaskClientCapabilityV2,
  TASKS_EXTENSION_ID_V2,
  type CreateTaskResultV2,
  type DetailedTaskV2,
} from '@modelcontextprotocol/ext-tasks/core/v2';
import type { JsonObject } from '../../../connectors/contract.js';
import { GatewayError, jsonRpcCodeOf, toGatewayError, type ErrorCode, type Principal } from '../../kernel/index.js';
import {
  grantFromTicket,
  type ApprovalQueue,
  type ApprovalTask,
  type ApprovalTaskEnd,
  type ApprovalTaskStore,
  type GrantStore,
  type Ticket,
} from '../../services/approvals/index.js';
import { principalDigest } from './sealed-state.js';

export const TASKS_EXTENSION = TASKS_EXTENSION_ID_V2;
/** Where a tool result names the approval request it waits for (see pipeline `errorResult`). */
const APPROVAL_ID_META = 'portcullis/approvalId';
const CODE_META = 'portcullis/code';

export interface ApprovalTasksOptions {
  store: ApprovalTaskStore;
  /** The approval queue the gateway files requests in (followed until the request is decided). */
  queue: ApprovalQueue;
  /** Stores the grant of an approved request, as a waiting call does (create-if-absent per request). */
  grants?: GrantStore;
  /** Suggested interval between an agent's `tasks/get` (default 1000 ms). */
  pollIntervalMs?: number;
  /** How long a task is kept after its approval request would expire (default 3600 s). */
  retentionSeconds?: number;
  /** A task's follower failed in a way the task records as INTERNAL (for the logs). */
  onError?: (error: unknown) => void;
  now?: () => number;
}

/** The call to run again once approved, with the signal that ends it (cancel, shutdown). */
export type ApprovedRun = (signal: AbortSignal) => Promise<JsonObject>;

export interface ApprovalTasks {
  /** The request's client capabilities (its `_meta` envelope) declare the Tasks extension. */
  negotiated(envelope: unknown): boolean;
  /** The approval request a tool result waits for, when the call was answered APPROVAL_PENDING. */
  pendingApproval(result: JsonObject): string | undefined;
  /** Makes a task of a call waiting for approval request `approvalId`; `run` runs it once approved. */
  start(input: { principal: Principal; tool: string; approvalId: string; run: ApprovedRun }): Promise<JsonObject>;
  /** `tasks/get`. */
  get(principal: Principal, taskId: string): Promise<JsonObject>;
  /** `tasks/cancel`: acknowledged for any task of the principal; only a working one changes. */
  cancel(principal: Principal, taskId: string): Promise<JsonObject>;
  /** `tasks/update`: refused, no task of this gateway waits for input. */
  update(principal: Principal, taskId: string): Promise<JsonObject>;
  /** Stops following; tasks still waiting fail with SHUTTING_DOWN. */
  close(): Promise<void>;
}

export function createApprovalTasks(options: ApprovalTasksOptions): ApprovalTasks {
  const now = options.now ?? Date.now;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const retentionMs = (options.retentionSeconds ?? 3600) * 1000;
  const { store, queue } = options;
  /** Tasks this instance follows, by id. */
  const following = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const iso = () => new Date(now()).toISOString();

  async function owned(principal: Principal, taskId: string): Promise<ApprovalTask> {
    const task = typeof taskId === 'string' && taskId !== '' ? await store.get(taskId) : undefined;
    if (task === undefined || task.owner !== principalDigest(principal)) {
      throw new GatewayError('NOT_FOUND', 'no such task');
    }
    return task;
  }

  function failure(code: ErrorCode, message: string, approvalId: string): ApprovalTaskEnd {
    return {
      status: 'failed',
      statusMessage: message,
      lastUpdatedAt: iso(),
      error: { code: jsonRpcCodeOf(code), message, data: { code, approvalId } },
    };
  }

  /** How a denied or expired request ends its task (the same on every instance). */
  function refusal(ticket: Ticket): ApprovalTaskEnd | undefined {
    if (ticket.status === 'denied') {
      const reason = ticket.decisions.filter((d) => !d.approve).at(-1)?.reason ?? 'denied by an operator';
      return failure('APPROVAL_DENIED', `denied by an operator: ${reason}`, ticket.id);
    }
    if (ticket.status === 'expired') {
      return failure('APPROVAL_EXPIRED', `approval request ${ticket.id} expired without a decision`, ticket.id);
    }
    return undefined;
  }

  async function follow(task: ApprovalTask, run: ApprovedRun, signal: AbortSignal): Promise<void> {
    const { approvalId } = task;
    const end = async (ending: ApprovalTaskEnd) => void (await store.finish(task.id, ending));
    try {
      for (;;) {
        const ticket = await queue.get(approvalId);
        if (ticket === undefined) {
          await end(failure('APPROVAL_LOST', `approval request ${approvalId} was lost before a decision`, approvalId));
          return;
        }
        // Wait until the request is decided or expires (the queue re-reads expiry on every read).
        const outcome = await queue.wait(approvalId, {
          signal,
          known: true,
          timeoutMs: Math.max(1000, Date.parse(ticket.expiresAt) - now() + 1000),
        });
        if (outcome.status === 'pending') continue;
        const refused = refusal(outcome.ticket);
        if (refused !== undefined) {
          await end(refused);
          return;
        }
        await options.grants?.put(grantFromTicket(outcome.ticket));
        // A task cancelled meanwhile (on any instance) does not run.
        if ((await store.get(task.id))?.status !== 'working') return;
        const result = await run(signal);
        // The result as a 2026-07-28 `tools/call` would have answered it.
        await end({
          status: 'completed',
          statusMessage: 'completed',
          lastUpdatedAt: iso(),
          result: { ...result, resultType: 'complete' },
        });
        return;
      }
    } catch (error) {
      const reason: unknown = signal.reason;
      if (signal.aborted && reason instanceof GatewayError && reason.code === 'CANCELLED') return;
      const gatewayError = signal.aborted && reason instanceof GatewayError ? reason : toGatewayError(error);
      if (gatewayError.code === 'INTERNAL') options.onError?.(error);
      await end(failure(gatewayError.code, gatewayError.message, approvalId)).catch(() => undefined);
    }
  }

  return {
    negotiated: (envelope) => hasTaskClientCapabilityV2({ _meta: envelope }),

    pendingApproval(result) {
      const meta = result['_meta'] as Record<string, unknown> | undefined;
      const approvalId = meta?.[APPROVAL_ID_META];
      return meta?.[CODE_META] === 'APPROVAL_PENDING' && typeof approvalId === 'string' ? approvalId : undefined;
    },

    async start({ principal, tool, approvalId, run }) {
      const ticket = await queue.get(approvalId);
      const createdAt = iso();
      const expiresAt = ticket !== undefined ? Date.parse(ticket.expiresAt) : now();
      const task: ApprovalTask = {
        id: randomUUID(),
        owner: principalDigest(principal),
        approvalId,
        tool,
        status: 'working',
        statusMessage: `waiting for operator approval of request ${approvalId}`,
        createdAt,
        lastUpdatedAt: createdAt,
        ttlMs: Math.max(0, expiresAt - now()) + retentionMs,
      };
      await store.create(task);
      const controller = new AbortController();
      const done = follow(task, run, controller.signal).finally(() => following.delete(task.id));
      following.set(task.id, { controller, done });
      const created: CreateTaskResultV2 = {
        resultType: 'task',
        taskId: task.id,
        status: task.status,
        statusMessage: task.statusMessage,
        createdAt: task.createdAt,
        lastUpdatedAt: task.lastUpdatedAt,
        ttlMs: task.ttlMs,
        pollIntervalMs,
      };
      return created as unknown as JsonObject;
    },

    async get(principal, taskId) {
      let task = await owned(principal, taskId);
      if (task.status === 'working') {
        // A denial or expiry is answered by any instance, even when the accepting one is gone.
        const ticket = await queue.get(task.approvalId);
        const refused = ticket !== undefined ? refusal(ticket) : undefined;
        if (refused !== undefined) {
          await store.finish(task.id, refused);
          task = await owned(principal, taskId);
        }
      }
      return { ...detailed(task, pollIntervalMs), resultType: 'complete' } as unknown as JsonObject;
    },

    async cancel(principal, taskId) {
      const task = await owned(principal, taskId);
      const cancelled = await store.finish(task.id, {
        status: 'cancelled',
        statusMessage: 'cancelled by the agent',
        lastUpdatedAt: iso(),
      });
      // Cancelling an ended task is acknowledged alike and changes nothing (its status stays as it ended).
      if (cancelled) following.get(task.id)?.controller.abort(new GatewayError('CANCELLED', 'the task was cancelled'));
      return { resultType: 'complete' };
    },

    async update(principal, taskId) {
      await owned(principal, taskId);
      throw new GatewayError('CONFLICT', 'the task is not waiting for input');
    },

    async close() {
      const stopping = [...following.values()];
      for (const { controller } of stopping) {
        controller.abort(
          new GatewayError('SHUTTING_DOWN', 'the gateway instance holding the call stopped; call again'),
        );
      }
      await Promise.all(stopping.map(({ done }) => done));
    },
  };
}

/** A task as `tasks/get` shows it. */
function detailed(task: ApprovalTask, pollIntervalMs: number): DetailedTaskV2 {
  const base = {
    taskId: task.id,
    statusMessage: task.statusMessage,
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt,
    ttlMs: task.ttlMs,
    ...(task.status === 'working' ? { pollIntervalMs } : {}),
  };
  switch (task.status) {
    case 'working':
      return { ...base, status: 'working' };
    case 'completed':
      return { ...base, status: 'completed', result: (task.result ?? {}) as never };
    case 'failed':
      return {
        ...base,
        status: 'failed',
        error: task.error ?? { code: jsonRpcCodeOf('INTERNAL'), message: 'the task failed' },
      } as DetailedTaskV2;
    case 'cancelled':
      return { ...base, status: 'cancelled' };
  }
}

/** Declared in `server/discover` (the extension's capability object is empty). */
export const TASKS_SERVER_CAPABILITY = { extensions: { [TASKS_EXTENSION]: {} } };
