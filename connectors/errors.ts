/**
 * Errors a connector may raise. Each carries a stable SCREAMING_SNAKE code that the gateway maps once
 * at its boundary (tool result, JSON-RPC error, HTTP status). Messages must never contain secrets,
 * credentials or full backend responses.
 */
export type ConnectorErrorCode =
  | 'TOOL_NOT_FOUND'
  | 'INVALID_ARGUMENTS'
  | 'EGRESS_DENIED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_ERROR'
  | 'RESPONSE_TOO_LARGE'
  | 'RESOURCE_NOT_FOUND'
  | 'PROMPT_NOT_FOUND'
  | 'CANCELLED'
  /** The backend needs the agent's answers first; the call continues when the agent retries it with them. */
  | 'INPUT_REQUIRED'
  | 'NOT_SUPPORTED';

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  constructor(
    readonly code: ConnectorErrorCode,
    message: string,
    /** Safe, structured detail for the caller (e.g. schema violations); never secrets. */
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError;
}

/**
 * What `ConnectorContext.fetch` throws when the gateway refuses or fails an outbound request (destination
 * not allowed, response over the cap, deadline, unreachable). Connectors pass it on unchanged: the code is
 * the gateway's, and the message is safe to show (host, port and reason; never headers or bodies).
 */
export type EgressErrorCode =
  'EGRESS_DENIED' | 'RESPONSE_TOO_LARGE' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_ERROR';

export class EgressError extends Error {
  override readonly name: string = 'EgressError';
  constructor(
    readonly code: EgressErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isEgressError(error: unknown): error is EgressError {
  return error instanceof EgressError;
}
