/**
 * How the SDK's per-request transport of a 2026-07-28 request answers it, made cheaper for the common case.
 *
 * The SDK settles a request's result as `Response.json(message)`: undici serialises the message, encodes
 * it, wraps the bytes in a web stream and builds a header list, and the gateway then reads the stream
 * back to write the bytes out, on every request. A result answered as JSON (no SSE stream open, the
 * response mode not `sse`) is settled here instead with the same status, `content-type` and bytes as a
 * `jsonResponse` (web-exchange.ts), which `sendFetchResponse` writes at once. Everything else (errors, with
 * their ladder statuses; notifications and results on an SSE stream; a transport already closed or
 * answered; a response to another id) goes to the SDK's own `send`, as before.
 *
 * This reads and sets members of `PerRequestHTTPServerTransport` that are not its public API
 * (@modelcontextprotocol/server 2.4.0, pinned). A transport without them is left as the SDK built it,
 * and a test fails when they are gone (per-request-transport.test.ts).
 */
import { PerRequestHTTPServerTransport, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { jsonResponse } from './web-exchange.js';

/** The transport's own state that its `send` reads and sets for a terminal response. */
interface PerRequestState {
  _closed: boolean;
  _terminalDelivered: boolean;
  _requestId: string | number | undefined;
  _sse: unknown;
  _responseMode: 'auto' | 'json' | 'sse';
  settleResponse(response: Response): void;
}

/** The members `answerResultsAsJson` relies on, for the check that they are there. */
export const PER_REQUEST_MEMBERS = [
  '_closed',
  '_terminalDelivered',
  '_requestId',
  '_sse',
  '_responseMode',
  'settleResponse',
] as const;

function stateOf(transport: object): PerRequestState | undefined {
  return PER_REQUEST_MEMBERS.every((member) => member in transport)
    ? (transport as unknown as PerRequestState)
    : undefined;
}

/**
 * Call before anything else wraps the transport's `send` (operation metrics do, and must see every
 * message): the fast path takes the place of the SDK's `send`, not of a wrapper around it. Returns
 * whether it is in place.
 */
export function answerResultsAsJson(transport: Transport): boolean {
  if (!(transport instanceof PerRequestHTTPServerTransport)) return false;
  const state = stateOf(transport);
  if (state === undefined) return false;
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    if (!isJsonAnswer(state, message)) return send(message, options);
    // As the SDK's `send` does for a result it answers as JSON, with the bytes written directly.
    state._terminalDelivered = true;
    state.settleResponse(jsonResponse(message));
    queueMicrotask(() => void transport.close());
  };
  return true;
}

/** A result (not an error) for the transport's own request, answered as JSON: nothing sent or streamed yet. */
function isJsonAnswer(state: PerRequestState, message: JSONRPCMessage): boolean {
  if (state._closed || state._terminalDelivered || state._sse !== undefined || state._responseMode === 'sse')
    return false;
  if (!('result' in message) || 'error' in message || message.jsonrpc !== '2.0') return false;
  const id = message.id as unknown;
  return (typeof id === 'string' || typeof id === 'number') && id === state._requestId;
}
