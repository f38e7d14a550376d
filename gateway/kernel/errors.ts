/**
 * Gateway errors: one class, one stable code each. Boundaries convert them exactly once: the MCP edge to a
 * tool result with `isError` (denials and backend faults the agent can react to) or a JSON-RPC error
 * (unknown tool, bad arguments), the operator API to HTTP statuses, the CLI to exit codes.
 * Messages are safe to show to the caller: they never carry secrets or raw backend bodies.
 */
import { isConnectorError } from '../../connectors/errors.js';

export type GatewayErrorCode =
  | 'POLICY_DENIED'
  | 'EGRESS_DENIED'
  | 'APPROVAL_REQUIRED'
  | 'APPROVAL_PENDING'
  | 'APPROVAL_DENIED'
  | 'APPROVAL_EXPIRED'
  | 'RATE_LIMITED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'TASK_ENDED'
  | 'TOOL_NOT_FOUND'
  | 'TOOL_QUARANTINED'
  | 'INVALID_ARGUMENTS'
  | 'RESOURCE_NOT_FOUND'
  | 'PROMPT_NOT_FOUND'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_ERROR'
  | 'RESPONSE_TOO_LARGE'
  | 'CANCELLED'
  /** The decision could not be made durable in the audit log, so the call was refused before it left. */
  | 'AUDIT_UNAVAILABLE'
  /** The state store (tasks, revocations, rate limits) did not answer: an outage, never a policy outcome. */
  | 'STORE_UNAVAILABLE'
  /** Too many calls to one connector at once (its concurrency cap and queue are full); retry shortly. */
  | 'OVERLOADED'
  | 'NOT_SUPPORTED'
  | 'INTERNAL';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Errors that are the caller's fault and belong in a JSON-RPC error rather than a tool result. */
export const CALLER_ERROR_CODES: ReadonlySet<GatewayErrorCode> = new Set([
  'TOOL_NOT_FOUND',
  'INVALID_ARGUMENTS',
  'RESOURCE_NOT_FOUND',
  'PROMPT_NOT_FOUND',
]);

/**
 * Normalise anything thrown below the pipeline into a GatewayError. Unknown errors become INTERNAL with a
 * generic message: their text may contain backend details, so it is kept only as the `cause` for logs.
 */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (isConnectorError(error)) {
    const details = isRecord(error.details) ? error.details : undefined;
    return new GatewayError(error.code, error.message, details, { cause: error });
  }
  const code = isRecord(error) && typeof error['code'] === 'string' ? error['code'] : undefined;
  if (
    code === 'STORE_UNAVAILABLE' ||
    code === 'EGRESS_DENIED' ||
    code === 'RESPONSE_TOO_LARGE' ||
    code === 'UPSTREAM_TIMEOUT' ||
    code === 'UPSTREAM_UNAVAILABLE' ||
    code === 'UPSTREAM_ERROR'
  ) {
    return new GatewayError(code, (error as Error).message, undefined, { cause: error });
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
