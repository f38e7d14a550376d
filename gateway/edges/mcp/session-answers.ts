/**
 * The `auto` response mode for a 2025 session: an answer ready with nothing streamed before it goes out as
 * one JSON body, as the 2026-07-28 era's handler answers, instead of an event stream carrying one event.
 *
 * The Streamable HTTP transport lets the server choose, for each POST carrying a request, between
 * `application/json` and `text/event-stream`, and obliges clients to accept both. The SDK's session
 * transport chooses once for the session (`enableJsonResponse`): a stream for every request, or JSON for
 * every one, which cannot stream progress or relay requests mid-call. Here it keeps its event streams, and
 * writes a JSON-RPC answer (a result or an error) onto a stream as an `answerChunk` (web-exchange.ts) in
 * place of its event. `sendFetchResponse` then writes the answer as the JSON body when it is the only
 * thing on the stream and arrives before the headers are due (`HEADERS_DEADLINE_MS`), and as the same
 * event the SDK writes otherwise (after a progress notification, a relayed request, another answer of a
 * batch, or on a stream whose headers are out). An agent's client reads one JSON object where it parsed
 * an event stream; the gateway builds no event for it.
 *
 * A single request on the session other than `initialize` is served without the transport's exchange
 * altogether (session-requests.ts); this covers the answers that still go through it: `initialize`'s, a
 * batch's, and those of every exchange of a transport built without `createSessionRequests`.
 *
 * An event that carries an id (with an event store, for resumption) stays the SDK's. This replaces
 * `writeSSEEvent`, a private method of `WebStandardStreamableHTTPServerTransport`
 * (@modelcontextprotocol/server 2.4.0, pinned); a transport without it is left as the SDK built it, and
 * a test fails when it is gone (session-answers.test.ts).
 */
import type { JSONRPCMessage, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { answerChunk } from './web-exchange.js';

/** The SDK's private writer of one event onto a request's or the standalone stream. */
type WriteEvent = (
  controller: ReadableStreamDefaultController<Uint8Array>,
  encoder: InstanceType<typeof TextEncoder>,
  message: JSONRPCMessage,
  eventId?: string,
) => boolean;

interface SessionTransportInternals {
  writeSSEEvent?: WriteEvent;
  onerror?: (error: Error) => void;
}

/**
 * Call once, on a transport made without `enableJsonResponse` whose responses are written by
 * `sendFetchResponse`: the marked chunks are an event only once it frames them, so no other reader may be
 * given its streams. Returns whether it is in place.
 */
export function answerWhenReadyAsJson(transport: WebStandardStreamableHTTPServerTransport): boolean {
  const internals = transport as unknown as SessionTransportInternals;
  const writeEvent = internals.writeSSEEvent;
  if (typeof writeEvent !== 'function') return false;
  internals.writeSSEEvent = (controller, encoder, message, eventId) => {
    // As the SDK's: an empty event id writes no `id:` line.
    if ((eventId !== undefined && eventId !== '') || !isAnswer(message))
      return writeEvent.call(transport, controller, encoder, message, eventId);
    try {
      controller.enqueue(answerChunk(message));
      return true;
    } catch (error) {
      internals.onerror?.(error as Error);
      return false;
    }
  };
  return true;
}

/** A result or an error answering a request (not a notification, not a request of the gateway's own). */
export function isAnswer(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number } {
  return 'id' in message && !('method' in message) && ('result' in message || 'error' in message);
}
