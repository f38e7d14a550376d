/**
 * Operator HTTP API for elevation requests, under `/v1/approvals`:
 *
 *   GET  /v1/approvals?status=pending&agent=ID&task=ID&limit=N   list (newest first); `status=lost` lists the
 *                                                                 requests lost with the state store's data,
 *                                                                 which the unfiltered list also ends with
 *   GET  /v1/approvals/events                                     server-sent events: one `ticket` event per change
 *   GET  /v1/approvals/:id                                        one request
 *   POST /v1/approvals/:id/approve  { reason?, ttlSeconds?, scope?: 'call' | 'task-tool', uses? }
 *   POST /v1/approvals/:id/deny     { reason }
 *
 * Errors are `{ error: { code, message } }` with 400 REASON_REQUIRED/BAD_REQUEST, 401 UNAUTHENTICATED,
 * 403 SELF_APPROVAL/FORBIDDEN, 404 NOT_FOUND, 409 NOT_PENDING/TASK_ENDED, 503 STORE_UNAVAILABLE.
 * An approval that completes a ticket stores its grant before answering, so the agent's retry finds it.
 */
import { openEventStream } from './event-stream.js';
import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import type { AuditSink } from '../../services/audit/index.js';
import {
  type ApprovalQueue,
  type GrantStore,
  type LostApproval,
  type Ticket,
  type TicketStatus,
  grantFromTicket,
} from '../../services/approvals/index.js';
import type { Operator, OperatorAuthenticator } from './operator-auth.js';
import { sendCode, sendError } from '../http/index.js';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  ATTR_PORTCULLIS_AGENT_ID,
  ATTR_PORTCULLIS_APPROVAL_ID,
  ATTR_PORTCULLIS_DECISION,
  ATTR_PORTCULLIS_TASK_ID,
  extractTraceparentFromMeta,
  getTracer,
} from '../../services/telemetry/index.js';

export interface ApprovalsRouterOptions {
  /** Time from request to final decision, by outcome. */
  onDecided?: (ticket: Ticket) => void;
  queue: ApprovalQueue;
  grants: GrantStore;
  audit: AuditSink;
  operatorAuth: OperatorAuthenticator;
  /** True when the operator is responsible for the requesting agent (no self-approval). */
  isSelf: (operatorId: string, ticket: Ticket) => boolean;
  /**
   * Whether a task is still live. An approval for a task that has ended is refused (TASK_ENDED): its grant
   * could never be used, and approving it would record a decision that grants nothing. Throws when the task
   * store cannot answer (answered 503 STORE_UNAVAILABLE, never as an ended task).
   */
  isTaskLive: (taskId: string) => Promise<boolean>;
  /** Jaeger UI base URL, to link each request to its trace. */
  traceUrl?: (ticket: Ticket) => string | undefined;
  /** Requests lost with the state store's data before a decision (recovered from the audit log). */
  lostApprovals?: () => Promise<readonly LostApproval[]>;
  /** Unexpected errors (answered as INTERNAL), for the logs. */
  onInternalError?: (error: unknown) => void;
}

const DecisionBodySchema = z
  .object({
    reason: z.string().trim().max(2000).optional(),
    ttlSeconds: z.number().int().min(1).max(86_400).optional(),
    scope: z.enum(['call', 'task-tool']).optional(),
    /** How many times a `call` grant may be used (capped by the queue). */
    uses: z.number().int().min(1).max(100).optional(),
  })
  .strict();

const STATUSES: readonly TicketStatus[] = ['pending', 'approved', 'denied', 'expired'];

export function createApprovalsRouter(options: ApprovalsRouterOptions): Router {
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  const { queue } = options;

  const present = (ticket: Ticket): Ticket & { traceUrl?: string } => {
    const traceUrl = options.traceUrl?.(ticket);
    return traceUrl !== undefined ? { ...ticket, traceUrl } : ticket;
  };

  router.get('/v1/approvals', options.operatorAuth.require('viewer'), async (req, res) => {
    const status = typeof req.query['status'] === 'string' ? req.query['status'] : undefined;
    if (status !== undefined && status !== 'lost' && !STATUSES.includes(status as TicketStatus)) {
      return void sendCode(res, 'INVALID_REQUEST', `status must be one of ${[...STATUSES, 'lost'].join(', ')}`);
    }
    const limit = typeof req.query['limit'] === 'string' ? Number(req.query['limit']) : undefined;
    try {
      const lost = status === undefined || status === 'lost' ? await lostMatching(req.query) : [];
      if (status === 'lost') return void res.json({ approvals: lost });
      const tickets = await queue.list({
        ...(status !== undefined ? { status: status as TicketStatus } : {}),
        ...(typeof req.query['agent'] === 'string' ? { agentId: req.query['agent'] } : {}),
        ...(typeof req.query['task'] === 'string' ? { taskId: req.query['task'] } : {}),
        ...(limit !== undefined && Number.isInteger(limit) && limit > 0 ? { limit: Math.min(limit, 500) } : {}),
      });
      const listed = new Set(tickets.map((t) => t.id));
      res.json({ approvals: [...tickets.map(present), ...lost.filter((l) => !listed.has(l.id))] });
    } catch (error) {
      sendError(res, error, options.onInternalError);
    }
  });

  async function lostMatching(query: Record<string, unknown>): Promise<readonly LostApproval[]> {
    const lost = (await options.lostApprovals?.()) ?? [];
    return lost.filter(
      (l) =>
        (typeof query['agent'] !== 'string' || l.agentId === query['agent']) &&
        (typeof query['task'] !== 'string' || l.taskId === query['task']),
    );
  }

  router.get('/v1/approvals/events', options.operatorAuth.require('viewer'), (req, res) => {
    const stream = openEventStream(req, res);
    const unsubscribe = queue.onChange?.((ticket) => stream.send('ticket', present(ticket)));
    if (unsubscribe !== undefined) stream.onClose(unsubscribe);
  });

  router.get('/v1/approvals/:id', options.operatorAuth.require('viewer'), async (req, res) => {
    try {
      const ticket = await queue.get(String(req.params['id']));
      if (ticket === undefined) return void sendCode(res, 'NOT_FOUND', 'no such approval request');
      res.json(present(ticket));
    } catch (error) {
      sendError(res, error, options.onInternalError);
    }
  });

  const decide = (approve: boolean) => async (req: express.Request, res: Response) => {
    const operator = res.locals['operator'] as Operator;
    const parsed = DecisionBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return void sendError(res, parsed.error);
    const id = String(req.params['id']);
    try {
      const existing = await queue.get(id);
      if (existing === undefined) return void sendCode(res, 'NOT_FOUND', 'no such approval request');
      if (options.isSelf(operator.id, existing)) {
        return void sendCode(
          res,
          'SELF_APPROVAL',
          'operators cannot decide requests of agents they are responsible for',
        );
      }
      if (approve && !(await options.isTaskLive(existing.taskId))) {
        return void sendCode(res, 'TASK_ENDED', 'the task of this request has ended; nothing can be approved for it');
      }
      const ticket = await queue.decide(id, {
        approve,
        approver: operator.id,
        reason: parsed.data.reason ?? '',
        ...(parsed.data.ttlSeconds !== undefined ? { ttlSeconds: parsed.data.ttlSeconds } : {}),
        ...(parsed.data.scope !== undefined ? { scope: parsed.data.scope } : {}),
        ...(parsed.data.uses !== undefined ? { uses: parsed.data.uses } : {}),
      });
      if (ticket.status === 'approved') await options.grants.put(grantFromTicket(ticket));
      recordDecisionSpan(ticket, operator.id, approve);
      if (ticket.status !== 'pending') options.onDecided?.(ticket);
      await options.audit.append({
        event: 'approval.decision',
        decision: approve ? 'allow' : 'deny',
        agentId: ticket.agentId,
        taskId: ticket.taskId,
        tool: ticket.tool,
        approvalId: ticket.id,
        actor: operator.id,
        reason: parsed.data.reason ?? '',
        detail: {
          status: ticket.status,
          scope: ticket.grant?.scope ?? null,
          grantExpiresAt: ticket.grant?.expiresAt ?? null,
        },
      });
      res.json(present(ticket));
    } catch (error) {
      sendError(res, error, options.onInternalError);
    }
  };

  router.post('/v1/approvals/:id/approve', options.operatorAuth.require('approver'), json, decide(true));
  router.post('/v1/approvals/:id/deny', options.operatorAuth.require('approver'), json, decide(false));
  return router;
}

/**
 * The operator's decision joins the waiting call's trace: a span under its `approval.wait` span (whose
 * context travelled with the request through the queue), so the trace shows who decided and when.
 */
function recordDecisionSpan(ticket: Ticket, approver: string, approve: boolean): void {
  if (ticket.traceparent === undefined) return;
  const parent = extractTraceparentFromMeta({ traceparent: ticket.traceparent }, ROOT_CONTEXT);
  const span = getTracer().startSpan(
    'approval.decision',
    {
      attributes: {
        [ATTR_PORTCULLIS_APPROVAL_ID]: ticket.id,
        [ATTR_PORTCULLIS_AGENT_ID]: ticket.agentId,
        [ATTR_PORTCULLIS_TASK_ID]: ticket.taskId,
        [ATTR_PORTCULLIS_DECISION]: approve ? 'approve' : 'deny',
        'portcullis.approval.approver': approver,
        'portcullis.approval.status': ticket.status,
      },
    },
    parent,
  );
  span.end();
}
