/**
 * The gateway's one error vocabulary: every code any part of the gateway reports, with how each boundary
 * shows it. Boundaries convert exactly once: the MCP edge to a tool result with `isError` (denials and
 * backend faults the agent can react to) or a JSON-RPC error (`jsonRpc` below: the caller's mistakes),
 * the HTTP routers through one mapper to `http`, the CLI to exit codes. Messages are safe to show to the
 * caller: they never carry secrets or raw backend bodies.
 *
 * Domain error classes (AuthError, ApprovalError, AuditError, ...) keep their narrower code types, each a
 * subset of ErrorCode, so a code means the same thing wherever it appears.
 */
import {
  isConnectorError,
  isEgressError,
  type ConnectorErrorCode,
  type EgressErrorCode,
} from '../../connectors/errors.js';

/** JSON-RPC error codes used at the MCP edge (the SDK's ErrorCode values, without importing the SDK). */
export const JSON_RPC = {
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
} as const;

interface CodeInfo {
  /** HTTP status at the operator and agent HTTP APIs. */
  readonly http: number;
  /** JSON-RPC error code when the MCP edge answers with an error rather than a tool result. */
  readonly jsonRpc: number;
  /** The caller's mistake: answered as a JSON-RPC error (InvalidParams), never as a tool result. */
  readonly caller?: true;
}

const CODES = {
  // The caller's request
  INVALID_REQUEST: { http: 400, jsonRpc: JSON_RPC.InvalidRequest, caller: true },
  PAYLOAD_TOO_LARGE: { http: 413, jsonRpc: JSON_RPC.InvalidRequest },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, jsonRpc: JSON_RPC.InvalidRequest },
  INVALID_ARGUMENTS: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  TOOL_NOT_FOUND: { http: 404, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  RESOURCE_NOT_FOUND: { http: 404, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  PROMPT_NOT_FOUND: { http: 404, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  NOT_FOUND: { http: 404, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  CONFLICT: { http: 409, jsonRpc: JSON_RPC.InvalidRequest, caller: true },
  NOT_SUPPORTED: { http: 501, jsonRpc: JSON_RPC.MethodNotFound },
  // Identity
  UNAUTHENTICATED: { http: 401, jsonRpc: JSON_RPC.InvalidRequest },
  FORBIDDEN: { http: 403, jsonRpc: JSON_RPC.InvalidRequest },
  INSUFFICIENT_SCOPE: { http: 403, jsonRpc: JSON_RPC.InvalidRequest },
  // Decisions
  POLICY_DENIED: { http: 403, jsonRpc: JSON_RPC.Internal },
  EGRESS_DENIED: { http: 403, jsonRpc: JSON_RPC.Internal },
  RATE_LIMITED: { http: 429, jsonRpc: JSON_RPC.Internal },
  /** 409 at the tasks API: the task already ended. */
  TASK_ENDED: { http: 409, jsonRpc: JSON_RPC.Internal },
  TOOL_QUARANTINED: { http: 403, jsonRpc: JSON_RPC.Internal },
  APPROVAL_REQUIRED: { http: 403, jsonRpc: JSON_RPC.Internal },
  APPROVAL_PENDING: { http: 202, jsonRpc: JSON_RPC.Internal },
  APPROVAL_DENIED: { http: 403, jsonRpc: JSON_RPC.Internal },
  APPROVAL_EXPIRED: { http: 403, jsonRpc: JSON_RPC.Internal },
  /** The approval request was lost with the state store before a decision; the call may be retried to ask again. */
  APPROVAL_LOST: { http: 503, jsonRpc: JSON_RPC.Internal },
  /** A run waits for an answer only the agent can give (elicitation, sampling). */
  INPUT_REQUIRED: { http: 202, jsonRpc: JSON_RPC.Internal },
  // Sealed request state and task handles of 2026-07-28 agents (the caller's to fix: call again without)
  STATE_INVALID: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  STATE_EXPIRED: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  STATE_REUSED: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  STATE_MISMATCH: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  /** The state is sound but the live call it continues is not held here (another instance, or it ended). */
  STATE_NOT_HELD: { http: 409, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  /** A retried request lacks the answer to one of the call's input requests. */
  INPUT_MISSING: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  // Approvals (operator side)
  SELF_APPROVAL: { http: 403, jsonRpc: JSON_RPC.InvalidRequest },
  REASON_REQUIRED: { http: 400, jsonRpc: JSON_RPC.InvalidParams, caller: true },
  NOT_PENDING: { http: 409, jsonRpc: JSON_RPC.InvalidRequest },
  // Tool pins (operator side)
  NOT_QUARANTINED: { http: 409, jsonRpc: JSON_RPC.InvalidRequest },
  HASH_MISMATCH: { http: 409, jsonRpc: JSON_RPC.InvalidRequest },
  // Tasks and credentials
  TASK_NOT_FOUND: { http: 404, jsonRpc: JSON_RPC.InvalidParams },
  TASK_CONFLICT: { http: 409, jsonRpc: JSON_RPC.InvalidRequest },
  INVALID_CREDENTIAL_REQUEST: { http: 400, jsonRpc: JSON_RPC.InvalidParams },
  // Backends
  UPSTREAM_UNAVAILABLE: { http: 502, jsonRpc: JSON_RPC.Internal },
  UPSTREAM_TIMEOUT: { http: 504, jsonRpc: JSON_RPC.Internal },
  UPSTREAM_ERROR: { http: 502, jsonRpc: JSON_RPC.Internal },
  RESPONSE_TOO_LARGE: { http: 502, jsonRpc: JSON_RPC.Internal },
  CANCELLED: { http: 499, jsonRpc: JSON_RPC.Internal },
  // The gateway's own state (fail closed, never reported as a decision)
  AUDIT_UNAVAILABLE: { http: 503, jsonRpc: JSON_RPC.Internal },
  AUDIT_CHAIN_CORRUPT: { http: 503, jsonRpc: JSON_RPC.Internal },
  AUDIT_WRITE_FAILED: { http: 503, jsonRpc: JSON_RPC.Internal },
  AUDIT_SINK_CLOSED: { http: 503, jsonRpc: JSON_RPC.Internal },
  AUDIT_IO_ERROR: { http: 503, jsonRpc: JSON_RPC.Internal },
  STORE_UNAVAILABLE: { http: 503, jsonRpc: JSON_RPC.Internal },
  SHUTTING_DOWN: { http: 503, jsonRpc: JSON_RPC.Internal },
  OVERLOADED: { http: 503, jsonRpc: JSON_RPC.Internal },
  INTERNAL: { http: 500, jsonRpc: JSON_RPC.Internal },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof CODES;
/** The same union under the name the package has always exported. */
export type GatewayErrorCode = ErrorCode;

// Every code a connector or the egress guard can raise is part of this vocabulary (checked by the compiler).
const CONTRACT_CODES_ARE_GATEWAY_CODES: Record<ConnectorErrorCode | EgressErrorCode, CodeInfo> = CODES;
void CONTRACT_CODES_ARE_GATEWAY_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(CODES, value);
}

/** HTTP status for a code (the one table every router uses through `sendError`). */
export function httpStatusOf(code: ErrorCode): number {
  return CODES[code].http;
}

/** JSON-RPC error code for a code, when the MCP edge answers with an error. */
export function jsonRpcCodeOf(code: ErrorCode): number {
  return CODES[code].jsonRpc;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Errors that are the caller's fault and belong in a JSON-RPC error rather than a tool result. */
export const CALLER_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(CODES) as ErrorCode[]).filter((code) => (CODES[code] as CodeInfo).caller === true),
);

/**
 * Normalise anything thrown below a boundary into a GatewayError. Errors that carry a code of this
 * vocabulary (connector and egress errors, store, task, audit and approval errors) keep it; anything else
 * is a bug or an unexpected fault and becomes INTERNAL with a generic message: its text may contain
 * backend details, so it is kept only as the `cause` for logs. Nothing here turns a fault into a decision.
 */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (isConnectorError(error)) {
    const details = isRecord(error.details) ? error.details : undefined;
    return new GatewayError(error.code, error.message, details, { cause: error });
  }
  if (isEgressError(error)) return new GatewayError(error.code, error.message, undefined, { cause: error });
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  if (isErrorCode(code) && code !== 'INTERNAL') {
    // Domain errors of the gateway (StoreUnavailableError, AuditError, ApprovalError, ...): their messages
    // are written to be shown. Audit sink failures all read as AUDIT_UNAVAILABLE to the caller.
    const shown: ErrorCode = code.startsWith('AUDIT_') ? 'AUDIT_UNAVAILABLE' : code;
    return new GatewayError(shown, (error as Error).message, undefined, { cause: error });
  }
  return new GatewayError('INTERNAL', 'internal gateway error', undefined, { cause: error });
}

/**
 * A state store (Redis) that could not answer. Stores throw an error with this code rather than guess: an
 * outage is reported as an outage (STORE_UNAVAILABLE, HTTP 503), never as a policy outcome.
 */
export function isStoreUnavailable(error: unknown): boolean {
  return isRecord(error) && error['code'] === 'STORE_UNAVAILABLE';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
