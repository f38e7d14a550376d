/**
 * Turning what the MCP SDK throws into ConnectorErrors, once, at the connector's boundary.
 *
 * Rules: the caller's own cancellation wins over everything (CANCELLED); a timeout is UPSTREAM_TIMEOUT; a
 * dead or unreachable transport is UPSTREAM_UNAVAILABLE; an upstream JSON-RPC "invalid params" is the
 * caller's fault only where the caller chose the params (INVALID_ARGUMENTS, or *_NOT_FOUND for reads and
 * prompts); anything else the upstream got wrong is UPSTREAM_ERROR, never blamed on the caller.
 *
 * Messages are written here, not copied from transport errors (those can carry response bodies). Upstream
 * JSON-RPC error messages are passed on, truncated, in `details.upstreamMessage`: they are what the server
 * chose to tell its client.
 */
import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { ConnectorError, isConnectorError } from '../errors.js';

/** Which kind of request failed: decides what an upstream InvalidParams means. */
export type UpstreamOperation = 'call' | 'read' | 'prompt' | 'complete' | 'subscribe' | 'list' | 'connect';

/** The MCP spec's code for an unknown resource (the SDK's McpServer answers InvalidParams instead). */
const RESOURCE_NOT_FOUND = -32002;
const MAX_UPSTREAM_MESSAGE = 300;
const STABLE_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

function upstreamMessage(error: ProtocolError): string {
  // Some SDK versions prefix "MCP error <code>: "; keep only what the server said.
  const message = error.message.replace(/^MCP error -?\d+: /, '');
  return message.length > MAX_UPSTREAM_MESSAGE ? `${message.slice(0, MAX_UPSTREAM_MESSAGE)}…` : message;
}

/** True when the HTTP transport was told its session no longer exists: the connector must re-initialize. */
export function isSessionLost(error: unknown): boolean {
  return error instanceof SdkHttpError && error.status === 404;
}

/** SDK-local failures that mean the connection itself is gone or unusable. */
const CONNECTION_LOST: ReadonlySet<SdkErrorCode> = new Set([
  SdkErrorCode.NotConnected,
  SdkErrorCode.ConnectionClosed,
  SdkErrorCode.SendFailed,
  SdkErrorCode.EraNegotiationFailed,
  SdkErrorCode.ClientHttpFailedToOpenStream,
]);

export function isTransportFailure(error: unknown): boolean {
  if (error instanceof SdkHttpError) return true;
  if (error instanceof SdkError) return CONNECTION_LOST.has(error.code);
  if (error instanceof ProtocolError) return false;
  if (!(error instanceof Error)) return false;
  // fetch failures (TypeError "fetch failed"), socket errors and the SDK's "Not connected".
  return (
    error instanceof TypeError ||
    error.message === 'Not connected' ||
    typeof (error as { code?: unknown }).code === 'string'
  );
}

export function toConnectorError(error: unknown, operation: UpstreamOperation, signal?: AbortSignal): ConnectorError {
  if (signal?.aborted === true) return new ConnectorError('CANCELLED', 'the call was cancelled');
  if (isConnectorError(error)) return error;
  if (error instanceof SdkHttpError) {
    // Its message can carry the response body: only the status is kept.
    const status = error.status > 0 ? { httpStatus: error.status } : undefined;
    return new ConnectorError('UPSTREAM_UNAVAILABLE', 'the upstream MCP server is unreachable', status);
  }
  if (error instanceof SdkError) {
    // A failed era probe or send wraps what the gateway's fetch threw: that (an egress denial, say) decides.
    const cause = error.cause;
    if (cause instanceof Error && !(cause instanceof SdkError) && isTransportFailure(cause))
      return toConnectorError(cause, operation, signal);
    switch (error.code) {
      case SdkErrorCode.RequestTimeout:
        return new ConnectorError('UPSTREAM_TIMEOUT', 'the upstream MCP server did not answer in time');
      case SdkErrorCode.ConnectionClosed:
        return new ConnectorError('UPSTREAM_UNAVAILABLE', 'the connection to the upstream MCP server closed');
      case SdkErrorCode.CapabilityNotSupported:
      case SdkErrorCode.MethodNotSupportedByProtocolVersion:
        return new ConnectorError('NOT_SUPPORTED', 'the upstream MCP server does not support this request');
      case SdkErrorCode.InvalidResult:
      case SdkErrorCode.UnsupportedResultType:
      case SdkErrorCode.InputRequiredRoundsExceeded:
      case SdkErrorCode.ListPaginationExceeded:
        return new ConnectorError('UPSTREAM_ERROR', 'the upstream MCP server sent an invalid response');
      default:
        // Not connected, send failures, a failed era negotiation: the connection is not usable.
        return new ConnectorError('UPSTREAM_UNAVAILABLE', 'the upstream MCP server is unreachable', {
          reason: error.code,
        });
    }
  }
  if (error instanceof ProtocolError) {
    const details = { upstreamCode: error.code, upstreamMessage: upstreamMessage(error) };
    switch (error.code) {
      case ProtocolErrorCode.MethodNotFound:
        return new ConnectorError('NOT_SUPPORTED', 'the upstream MCP server does not support this request', details);
      case RESOURCE_NOT_FOUND:
        if (operation === 'read' || operation === 'subscribe') {
          return new ConnectorError('RESOURCE_NOT_FOUND', 'the upstream MCP server has no such resource', details);
        }
        break;
      case ProtocolErrorCode.InvalidParams:
        if (operation === 'call' || operation === 'complete') {
          return new ConnectorError('INVALID_ARGUMENTS', 'the upstream MCP server rejected the arguments', details);
        }
        if (operation === 'read' || operation === 'subscribe') {
          // The URI is the only parameter: the SDK's servers answer InvalidParams for an unknown resource.
          return new ConnectorError('RESOURCE_NOT_FOUND', 'the upstream MCP server has no such resource', details);
        }
        if (operation === 'prompt') {
          return /not found/i.test(details.upstreamMessage)
            ? new ConnectorError('PROMPT_NOT_FOUND', 'the upstream MCP server has no such prompt', details)
            : new ConnectorError('INVALID_ARGUMENTS', 'the upstream MCP server rejected the prompt arguments', details);
        }
        break;
      default:
        break;
    }
    return new ConnectorError('UPSTREAM_ERROR', 'the upstream MCP server returned an error', details);
  }
  if (isTransportFailure(error)) {
    // Thrown by the fetch the gateway handed in (egress guard, sockets): its stable code is kept in the
    // details and the error itself as the cause, so the gateway can still tell an egress denial from an outage.
    const code = (error as { code?: unknown }).code;
    const details = typeof code === 'string' && STABLE_CODE.test(code) ? { reason: code } : undefined;
    const options = { cause: error };
    // The gateway's fetch refused the destination: a policy outcome, not an outage. The message is the
    // egress guard's (host, port and reason; never headers or bodies).
    if (code === 'EGRESS_DENIED')
      return new ConnectorError('EGRESS_DENIED', (error as Error).message, undefined, { cause: error });
    return code === 'UPSTREAM_TIMEOUT'
      ? new ConnectorError('UPSTREAM_TIMEOUT', 'the upstream MCP server did not answer in time', details, options)
      : new ConnectorError('UPSTREAM_UNAVAILABLE', 'the upstream MCP server is unreachable', details, options);
  }
  // Typically a response that does not match the protocol's schemas.
  return new ConnectorError('UPSTREAM_ERROR', 'the upstream MCP server sent an invalid response');
}
