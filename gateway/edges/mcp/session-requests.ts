/**
 * A request on a 2025 session (a tool call, a listing, a read) served without the SDK's web-standard
 * exchange, in the `auto` response mode.
 *
 * The SDK's session transport serves every POST as a web exchange: it checks the headers, parses the body as
 * a JSON-RPC message, checks that the session is initialized and the protocol version supported, opens a web
 * event stream with a keep-alive timer for the request, hands the message to the server, and answers with a
 * `Response` that the gateway then reads back, chunk by chunk, to write it out (web-exchange.ts). For a
 * single request on an established session all of that wraps one thing: the message goes to the server, and
 * what the server sends for it goes back on this exchange. That wrapping cost about a quarter of the
 * gateway's CPU a call at 32 sessions (docs/benchmarks.md, "What changed").
 *
 * Here the message goes to the server as the transport delivers it, through the operation metrics and the
 * protocol-version watch, but without the SDK's sorting of inbound messages (request-delivery.ts), after the
 * same checks (the SDK's own parse of the body, the session and protocol version already held by the HTTP
 * edge), and what the server sends for it is taken at the transport's `send`, before the SDK's own: an
 * answer with nothing sent before it goes out as one JSON body with the session id; a notification or
 * request of the server's for the call (progress, a log message, a sampling or elicitation request) opens an
 * event stream with the headers the SDK sets, and the answer ends it as the event the SDK writes. A call
 * still unanswered after `HEADERS_DEADLINE_MS` has its event-stream headers sent, and a stream carries the
 * SDK's keep-alive comment every 15 seconds, as the SDK's exchange does. The agent's answers to the server's
 * requests, notifications, batches, `initialize`, and any body the SDK's parse refuses (which it answers
 * 400) are left to the SDK's exchange, as is every request in the `sse` and `json` response modes.
 *
 * Agent gone before the answer: nothing more is written for the call, and what the server still sends for it
 * goes to the SDK's transport, which has no stream for it and says so through the server's `onerror`. The
 * session closing ends the exchanges still open (an empty event stream, as the SDK's closed streams end).
 */
import type { ServerResponse } from 'node:http';
import {
  parseJSONRPCMessage,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Server,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { DictionaryMap } from '../../../connectors/call-registries.js';
import { isJsonObject } from '../../../connectors/contract.js';
import { messageJson } from '../../kernel/index.js';
import { isAnswer } from './session-answers.js';
import { PostExchange } from './post-exchange.js';
import { onMessageDelivery, requestDelivery, type RequestDelivery } from './request-delivery.js';
import { HEADERS_DEADLINE_MS, KEEP_ALIVE_MS } from './web-exchange.js';

export interface SessionRequests {
  /**
   * The request to serve directly, when this exchange carries one that can be (see above): a single
   * JSON-RPC request other than `initialize`, as the SDK parses it, from an agent that accepts both JSON
   * and event streams. Undefined: serve the exchange through the SDK's transport.
   */
  directRequest(accept: string | undefined, body: unknown): JSONRPCRequest | undefined;
  /** Serves `request` on this exchange; settles once its answer is written or the exchange ends. */
  serve(request: JSONRPCRequest, webRequest: Request, res: ServerResponse): Promise<void>;
  /**
   * Delivers the requests served here to `server` without the SDK's sorting of inbound messages
   * (request-delivery.ts). Call it right before the server connects to the transport, once the transport's
   * observers are set; until then requests go through the transport's `onmessage`.
   */
  deliverTo(server: Server): void;
  /** Ends the exchanges still open (the session is closing). */
  closeAll(): void;
}

export interface SessionRequestsOptions {
  /** The session's id, sent with every answer as the SDK sends it. */
  sessionId: string;
  /** When an unanswered call's event-stream headers go out (default `HEADERS_DEADLINE_MS`). */
  headersDeadlineMs?: number;
  keepAliveMs?: number;
}

/**
 * Call on the session's transport before anything else wraps its `send` (operation metrics do, and must see
 * every message) and before the server connects to it.
 */
export function createSessionRequests(transport: Transport, options: SessionRequestsOptions): SessionRequests {
  const headersDeadlineMs = options.headersDeadlineMs ?? HEADERS_DEADLINE_MS;
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  // Keyed as the SDK keys a request's stream: a number and the string of its digits are different ids.
  const open = new DictionaryMap<string | number, PostExchange>();
  let deliver: RequestDelivery = onMessageDelivery(transport);

  const sdkSend = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, sendOptions?: TransportSendOptions): Promise<void> => {
    // The request a message belongs to, by the SDK's rule: an answer's own id, else the related request.
    const answer = isAnswer(message);
    const requestId = answer ? message.id : sendOptions?.relatedRequestId;
    const exchange = requestId === undefined ? undefined : open.get(requestId);
    if (exchange === undefined) return sdkSend(message, sendOptions);
    const json = messageJson(message);
    if (answer) exchange.answer(json);
    else exchange.event(json);
    return Promise.resolve();
  };

  return {
    directRequest(accept, body) {
      if (transport.onmessage === undefined) return undefined;
      if (!isJsonObject(body) || body['method'] === 'initialize' || !('id' in body)) return undefined;
      if (accept === undefined || !accept.includes('application/json') || !accept.includes('text/event-stream'))
        return undefined;
      let message: JSONRPCMessage;
      try {
        message = parseJSONRPCMessage(body);
      } catch {
        return undefined;
      }
      return 'method' in message && 'id' in message ? message : undefined;
    },

    serve(request, webRequest, res) {
      return new Promise<void>((settle, fail) => {
        const exchange = new PostExchange(res, {
          sessionId: options.sessionId,
          headersDeadlineMs,
          keepAliveMs,
          onDone: () => {
            open.delete(request.id);
            settle();
          },
        });
        open.set(request.id, exchange);
        try {
          deliver(request, { request: webRequest });
        } catch (error) {
          // Nothing was sent for it: the caller answers the exchange (as an internal error).
          fail(error);
          exchange.abandon();
        }
      });
    },

    deliverTo(server) {
      deliver = requestDelivery(server, transport);
    },

    closeAll() {
      for (const exchange of [...open.values()]) exchange.close();
    },
  };
}
