/**
 * Step 4 of the pipeline (elevate): a call the policy sends for approval runs only under a grant bound to
 * exactly this call (agent, task, tool, method, canonical URL, arguments), or to this tool for the rest of
 * the task when an operator widened it.
 *
 * Order: an existing grant is consumed if one covers the call; otherwise the call becomes an elevation
 * request (idempotent per call hash, so a retry finds the same request) and, in `wait` mode, waits for the
 * decision with progress notifications. Whatever goes wrong (store down, wait aborted) refuses the call.
 */
import type { Decision, TaskFacts } from '../../policies/types.js';
import type { AuditSink } from '../services/audit/index.js';
import { type Principal, GatewayError } from '../kernel/index.js';
import {
  callHash,
  grantFromTicket,
  type ApprovalQueue,
  type GrantStore,
  type StoredGrant,
} from '../services/approvals/index.js';
import type { ApprovalsConfig } from '../config/index.js';
import type { ProgressUpdate, HttpOperation, JsonObject } from '../../connectors/contract.js';

export interface Elevation {
  queue: ApprovalQueue;
  grants: GrantStore;
  audit: AuditSink;
  config: ApprovalsConfig;
  /** Shows arguments to operators with secrets masked. */
  redactArgs: (args: JsonObject) => JsonObject;
}

export interface ElevationInput {
  principal: Principal;
  task: TaskFacts;
  tool: string;
  operation?: HttpOperation;
  args: JsonObject;
  argsHash: string;
  decision: Decision;
  signal: AbortSignal;
  onProgress?: (update: ProgressUpdate) => void;
  traceparent?: string;
  justification?: string;
  /** Ask only: file the request and return at once (the agent asks ahead of time). */
  askOnly?: boolean;
}

export type ElevationResult = { granted: StoredGrant } | { refused: GatewayError; approvalId?: string };

export async function elevate(elevation: Elevation, input: ElevationInput): Promise<ElevationResult> {
  const { queue, grants, config } = elevation;
  const hash = callHash({
    agentId: input.principal.agentId,
    taskId: input.task.id,
    tool: input.tool,
    ...(input.operation !== undefined ? { method: input.operation.method, url: input.operation.url } : {}),
    args: input.args,
  });
  try {
    const existing = await grants.consume({ callHash: hash, taskId: input.task.id, tool: input.tool });
    if (existing !== undefined) return { granted: existing };

    const ticket = await queue.request({
      agentId: input.principal.agentId,
      ...(input.principal.tenant !== undefined ? { tenant: input.principal.tenant } : {}),
      taskId: input.task.id,
      ...(input.task.intent !== undefined ? { intent: input.task.intent } : {}),
      tool: input.tool,
      ...(input.operation !== undefined
        ? { operation: { method: input.operation.method, url: input.operation.url } }
        : {}),
      args: elevation.redactArgs(input.args),
      argsHash: input.argsHash,
      callHash: hash,
      rules: input.decision.rules,
      reason: input.decision.reason,
      ...(input.justification !== undefined ? { justification: input.justification } : {}),
      requiredApprovers: Math.max(1, input.decision.approval?.approvers ?? 1),
      requestedBy: input.principal.agentId,
      expiresInSeconds: config.pendingTtlSeconds,
      maxGrantSeconds: Math.min(
        config.maxGrantSeconds,
        input.decision.approval?.maxTtlSeconds ?? config.maxGrantSeconds,
      ),
      ...(input.traceparent !== undefined ? { traceparent: input.traceparent } : {}),
    });

    if (config.mode === 'return' || input.askOnly === true) {
      return { refused: pending(ticket.id), approvalId: ticket.id };
    }

    // Tell the agent at once what it is waiting for; the queue then reports progress while it waits.
    input.onProgress?.({
      progress: 0,
      total: config.waitSeconds,
      message: `waiting for operator approval of request ${ticket.id}`,
    });
    const outcome = await queue.wait(ticket.id, {
      signal: input.signal,
      // Filed just above: a store that then has nothing for it lost it, whenever its first read lands.
      known: true,
      timeoutMs: config.waitSeconds * 1000,
      onProgress: (elapsedMs) =>
        input.onProgress?.({
          progress: Math.floor(elapsedMs / 1000),
          total: config.waitSeconds,
          message: `waiting for operator approval of request ${ticket.id}`,
        }),
    });
    switch (outcome.status) {
      case 'approved': {
        // The operator API stores the grant too; put is create-if-absent per ticket, so uses are not renewed.
        await grants.put(grantFromTicket(outcome.ticket));
        const granted = await grants.consume({ callHash: hash, taskId: input.task.id, tool: input.tool });
        if (granted === undefined)
          return {
            refused: new GatewayError('APPROVAL_EXPIRED', 'the approval was used or expired before the call ran'),
            approvalId: ticket.id,
          };
        return { granted };
      }
      case 'denied': {
        const reason = outcome.ticket.decisions.filter((d) => !d.approve).at(-1)?.reason ?? 'denied by an operator';
        return {
          refused: new GatewayError('APPROVAL_DENIED', `denied by an operator: ${reason}`, { approvalId: ticket.id }),
          approvalId: ticket.id,
        };
      }
      case 'expired':
        return {
          refused: new GatewayError('APPROVAL_EXPIRED', `approval request ${ticket.id} expired without a decision`, {
            approvalId: ticket.id,
          }),
          approvalId: ticket.id,
        };
      case 'pending':
        return { refused: pending(ticket.id), approvalId: ticket.id };
    }
  } catch (error) {
    if (input.signal.aborted) {
      // A coded reason (the gateway shutting down) is the truthful answer; anything else is the agent's cancel.
      const reason: unknown = input.signal.reason;
      if (reason instanceof GatewayError) return { refused: reason };
      return { refused: new GatewayError('CANCELLED', 'the call was cancelled while waiting for approval') };
    }
    // The request vanished before anyone decided (the store lost its data): say so; a retry asks again.
    if ((error as { code?: unknown } | null)?.code === 'APPROVAL_LOST') {
      return {
        refused: new GatewayError(
          'APPROVAL_LOST',
          `${(error as Error).message} before a decision; retry the call to ask again`,
          undefined,
          { cause: error },
        ),
      };
    }
    // Fail closed with the truthful code: an approval store that cannot answer is an outage, not a policy
    // outcome. Anything else is a bug and propagates (the runner ends the run as INTERNAL and logs it).
    if ((error as { code?: unknown } | null)?.code === 'STORE_UNAVAILABLE') {
      return {
        refused: new GatewayError(
          'STORE_UNAVAILABLE',
          'this call needs operator approval, and the approval store is unavailable',
          undefined,
          { cause: error },
        ),
      };
    }
    throw error;
  }
}

function pending(id: string): GatewayError {
  return new GatewayError(
    'APPROVAL_PENDING',
    `waiting for operator approval: request ${id}; retry the same call once it is approved`,
    { approvalId: id },
  );
}
