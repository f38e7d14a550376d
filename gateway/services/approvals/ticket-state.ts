/**
 * The rules of a ticket's life, as pure functions shared by every queue implementation, so memory and Redis
 * cannot drift apart. Stores only add atomicity around them (one thread for memory, compare-and-set on a
 * version for Redis).
 *
 * Decision rules, checked in this order:
 *   1. the approver must be named;
 *   2. no self-approval: the requester (`requestedBy`), the agent itself, or whoever the `isSelf` hook names
 *      may neither approve nor deny => SELF_APPROVAL;
 *   3. a reason is required to deny, and to approve when `requireApproveReason` => REASON_REQUIRED;
 *   4. only a pending ticket (not past its `expiresAt`) can be decided => NOT_PENDING;
 *   5. a deny by anyone ends the ticket (deny wins, even after earlier approvals);
 *   6. an approver who already approved counts once (approving again changes nothing);
 *   7. the ticket is approved when `requiredApprovers` distinct approvers approved. The grant is the narrowest
 *      any of them gave: `task-tool` only if all asked for it, the shortest TTL, the fewest uses; TTLs are
 *      capped by the queue's and the request's maximum, uses by the queue's maximum.
 */
import { z } from 'zod';
import { isCallHash } from './call-hash.js';
import {
  ApprovalError,
  type ApprovalDecision,
  type DecideInput,
  type ElevationRequest,
  type GrantScope,
  type Ticket,
  type TicketStatus,
} from './types.js';

export const DEFAULT_MAX_GRANT_SECONDS = 15 * 60;
export const DEFAULT_MAX_GRANT_USES = 10;
/** Longest a request may stay pending. */
export const MAX_PENDING_SECONDS = 7 * 86_400;
export const MAX_REASON_LENGTH = 2000;

export interface DecisionRules {
  /** Longest grant an operator may give, in seconds (default 15 min). */
  maxGrantSeconds?: number;
  /** Most uses an operator may give a `call` grant (default 10). */
  maxGrantUses?: number;
  /** Require a reason to approve too (a reason to deny is always required). */
  requireApproveReason?: boolean;
  /** Extra self-approval check, e.g. the operator owns the requesting agent. */
  isSelf?: (approver: string, ticket: Ticket) => boolean;
}

const nonEmpty = z.string().trim().min(1).max(512);

export const ElevationRequestSchema = z.object({
  agentId: nonEmpty,
  tenant: nonEmpty.optional(),
  taskId: nonEmpty,
  intent: z.string().max(4000).optional(),
  tool: nonEmpty,
  operation: z.object({ method: nonEmpty, url: z.string().min(1).max(8192) }).optional(),
  args: z.record(z.string(), z.unknown()),
  argsHash: z.string().min(1).max(256),
  callHash: z.string().refine(isCallHash, 'callHash must be 64 lower-case hex digits'),
  rules: z.array(z.string()).readonly(),
  reason: z.string().max(4000).optional(),
  justification: z.string().max(4000).optional(),
  requiredApprovers: z.number().int().min(1).max(100).default(1),
  requestedBy: nonEmpty,
  expiresInSeconds: z.number().positive().max(MAX_PENDING_SECONDS),
  maxGrantSeconds: z.number().int().positive().optional(),
  traceparent: z.string().max(512).optional(),
});

/** Validated copy of a request (unknown members dropped). Throws TypeError: a malformed request is a bug. */
export function parseRequest(r: ElevationRequest): ElevationRequest {
  const parsed = ElevationRequestSchema.safeParse(r);
  if (!parsed.success) {
    throw new TypeError(
      `invalid elevation request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data as ElevationRequest;
}

/** A new pending ticket for a validated request. */
export function openTicket(id: string, request: ElevationRequest, now: number): Ticket {
  return {
    ...request,
    id,
    status: 'pending',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + Math.round(request.expiresInSeconds * 1000)).toISOString(),
    decisions: [],
  };
}

/** Ticket id: the call hash and the attempt number for that call (1, 2, ... as earlier tickets end). */
export function ticketId(callHash: string, attempt: number): string {
  return `${callHash}-${attempt}`;
}

export function isFinal(status: TicketStatus): boolean {
  return status !== 'pending';
}

/** The ticket as it stands at `now`: a pending ticket past its expiry reads as expired. */
export function currentTicket(ticket: Ticket, now: number): Ticket {
  if (ticket.status === 'pending' && Date.parse(ticket.expiresAt) <= now) return { ...ticket, status: 'expired' };
  return ticket;
}

/**
 * Applies one decision (rules in the module comment). Returns the new ticket, or the same object when the
 * decision changes nothing (an approver approving twice). Throws ApprovalError for a refused decision and
 * TypeError for malformed input.
 */
export function applyDecision(stored: Ticket, input: DecideInput, rules: DecisionRules, now: number): Ticket {
  const ticket = currentTicket(stored, now);
  const approver = typeof input.approver === 'string' ? input.approver.trim() : '';
  if (approver === '') throw new TypeError('approver is required');
  if (approver === ticket.requestedBy || approver === ticket.agentId || rules.isSelf?.(approver, ticket) === true) {
    throw new ApprovalError(
      'SELF_APPROVAL',
      'a request cannot be decided by its requester or by an operator responsible for the agent',
    );
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length > MAX_REASON_LENGTH) throw new TypeError(`reason is longer than ${MAX_REASON_LENGTH} characters`);
  if (reason === '' && (!input.approve || rules.requireApproveReason === true)) {
    throw new ApprovalError(
      'REASON_REQUIRED',
      input.approve ? 'a reason is required to approve' : 'a reason is required to deny',
    );
  }
  if (ticket.status !== 'pending') throw new ApprovalError('NOT_PENDING', `request ${ticket.id} is ${ticket.status}`);

  const at = new Date(now).toISOString();
  if (!input.approve) {
    return { ...ticket, status: 'denied', decisions: [...ticket.decisions, { approver, approve: false, reason, at }] };
  }
  if (ticket.decisions.some((d) => d.approve && d.approver === approver)) return stored;

  const maxSeconds = Math.min(
    rules.maxGrantSeconds ?? DEFAULT_MAX_GRANT_SECONDS,
    ticket.maxGrantSeconds ?? Number.POSITIVE_INFINITY,
  );
  const maxUses = rules.maxGrantUses ?? DEFAULT_MAX_GRANT_USES;
  const ttlSeconds = Math.min(positiveInteger(input.ttlSeconds, 'ttlSeconds') ?? maxSeconds, maxSeconds);
  const uses = Math.min(positiveInteger(input.uses, 'uses') ?? 1, maxUses);
  const scope: GrantScope = input.scope ?? 'call';
  if (scope !== 'call' && scope !== 'task-tool') throw new TypeError('scope must be call or task-tool');
  const decision: ApprovalDecision = { approver, approve: true, reason, at, ttlSeconds, scope, uses };
  const decisions = [...ticket.decisions, decision];
  const approvals = decisions.filter((d) => d.approve);
  if (approvals.length < ticket.requiredApprovers) return { ...ticket, decisions };

  const grantSeconds = Math.min(...approvals.map((d) => d.ttlSeconds ?? maxSeconds), maxSeconds);
  const grantScope: GrantScope = approvals.every((d) => d.scope === 'task-tool') ? 'task-tool' : 'call';
  const grantUses = Math.min(...approvals.map((d) => d.uses ?? 1));
  return {
    ...ticket,
    status: 'approved',
    decisions,
    grant: {
      scope: grantScope,
      expiresAt: new Date(now + grantSeconds * 1000).toISOString(),
      ...(grantScope === 'call' ? { uses: grantUses } : {}),
    },
  };
}

/** The ticket marked expired (only a pending ticket past its expiry); undefined when it should not change. */
export function expireTicket(ticket: Ticket, now: number): Ticket | undefined {
  if (ticket.status !== 'pending' || Date.parse(ticket.expiresAt) > now) return undefined;
  return { ...ticket, status: 'expired' };
}

function positiveInteger(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
  return value;
}
