/**
 * Elevation requests and their outcome: the contract between the pipeline (which asks and waits), the
 * operator surfaces (which list and decide) and the queue implementations (memory, BullMQ on Redis).
 */
import type { ErrorCode } from '../../kernel/index.js';

export type TicketStatus = 'pending' | 'approved' | 'denied' | 'expired';
export type GrantScope = 'call' | 'task-tool';

export interface ElevationRequest {
  agentId: string;
  tenant?: string;
  taskId: string;
  intent?: string;
  /** Exposed tool name. */
  tool: string;
  /** For HTTP tools: method and canonical URL. */
  operation?: { method: string; url: string };
  /** Arguments as shown to operators (secrets already redacted by the caller). */
  args: Readonly<Record<string, unknown>>;
  argsHash: string;
  /** Hash binding the grant to this exact call (see call-hash.ts). */
  callHash: string;
  /** Ids of the rules that asked for approval. */
  rules: readonly string[];
  reason?: string;
  justification?: string;
  /** Distinct approvers needed (default 1). */
  requiredApprovers: number;
  /** Who is asking, for the no-self-approval rule (agent id or its owner). */
  requestedBy: string;
  /** Pending requests expire after this long. */
  expiresInSeconds: number;
  /** Longest grant an operator may give (seconds). */
  maxGrantSeconds?: number;
  /** W3C traceparent of the waiting call, so the decision joins the same trace. */
  traceparent?: string;
}

export interface ApprovalDecision {
  approver: string;
  approve: boolean;
  reason: string;
  at: string;
  /** What this approver granted (approvals only); a multi-approver grant is the narrowest of them. */
  ttlSeconds?: number;
  scope?: GrantScope;
  uses?: number;
}

export interface Grant {
  scope: GrantScope;
  expiresAt: string;
  /** Uses of a `call` grant (default 1). */
  uses?: number;
}

export interface Ticket extends ElevationRequest {
  id: string;
  status: TicketStatus;
  createdAt: string;
  expiresAt: string;
  decisions: ApprovalDecision[];
  grant?: Grant;
}

export type Outcome =
  | { status: 'approved'; ticket: Ticket }
  | { status: 'denied'; ticket: Ticket }
  | { status: 'expired'; ticket: Ticket }
  | { status: 'pending'; ticket: Ticket; timedOut: true };

export interface DecideInput {
  approve: boolean;
  approver: string;
  reason: string;
  /** Grant lifetime asked by the operator (capped by the request's/queue's maximum). */
  ttlSeconds?: number;
  scope?: GrantScope;
  /** Uses of a `call` grant (default 1, capped by the queue's maximum). */
  uses?: number;
}

export interface ListFilter {
  status?: TicketStatus;
  agentId?: string;
  taskId?: string;
  limit?: number;
}

export interface ApprovalQueue {
  /** Idempotent per call hash while pending: the same ticket comes back. */
  request(r: ElevationRequest): Promise<Ticket>;
  wait(
    id: string,
    o: {
      signal: AbortSignal;
      timeoutMs: number;
      onProgress?: (elapsedMs: number) => void;
      /** The caller filed (or has read) this ticket: finding nothing means the store lost it (APPROVAL_LOST). */
      known?: boolean;
    },
  ): Promise<Outcome>;
  decide(id: string, d: DecideInput): Promise<Ticket>;
  get(id: string): Promise<Ticket | undefined>;
  list(filter?: ListFilter): Promise<Ticket[]>;
  /** Subscribe to ticket changes (new, decided, expired) on any instance; returns an unsubscribe function. */
  onChange?(listener: (ticket: Ticket) => void): () => void;
  close(): Promise<void>;
}

export type ApprovalErrorCode = Extract<
  ErrorCode,
  'SELF_APPROVAL' | 'REASON_REQUIRED' | 'NOT_PENDING' | 'NOT_FOUND' | 'STORE_UNAVAILABLE' | 'APPROVAL_LOST'
>;

export class ApprovalError extends Error {
  override readonly name = 'ApprovalError';
  constructor(
    readonly code: ApprovalErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A grant as stored: created when a ticket is approved, consumed by the call it covers. */
export interface StoredGrant {
  /** The approved ticket's id. */
  ticketId: string;
  scope: GrantScope;
  agentId: string;
  taskId: string;
  tool: string;
  /** For scope `call`: the exact call it covers. */
  callHash?: string;
  expiresAt: string;
  /** Remaining uses for scope `call` (default 1); ignored for `task-tool`. */
  usesLeft: number;
  approvers: readonly string[];
}

export interface GrantStore {
  /**
   * Store the grant of an approved ticket. Idempotent per `ticketId` (create-if-absent, never reset): both the
   * operator API and the waiting call may put the same ticket's grant, and its uses are not renewed.
   */
  put(grant: StoredGrant): Promise<void>;
  /**
   * Find a live grant covering this call (a `call` grant with this callHash, or a `task-tool` grant for this
   * task and tool) and consume one use atomically; undefined when none applies.
   */
  consume(query: { callHash: string; taskId: string; tool: string }): Promise<StoredGrant | undefined>;
  /** Grants end with their task. */
  endTask(taskId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * An approval request whose ticket was lost with the state store before anyone decided (recovered from the
 * audit log by a rebuild). Shown to operators beside tickets, with status `lost`; nothing can be decided on it.
 */
export interface LostApproval {
  id: string;
  status: 'lost';
  agentId?: string;
  taskId?: string;
  tool?: string;
  operation?: string;
  rules: readonly string[];
  /** When it was requested (ISO). */
  createdAt: string;
  decisions: [];
}
