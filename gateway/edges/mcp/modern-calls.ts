/**
 * 2026-07-28 `tools/call` requests served on one long-lived SDK server, without the SDK's per-request
 * handler, in the `auto` response mode.
 *
 * The SDK's handler (`createMcpHandler`) serves every 2026-07-28 request by building a server of its own, a
 * per-request transport and a web-standard `Response`, and closing them again once it is answered: a fifth
 * of the gateway's CPU a call at 32 sessions with a light client, an eighth with the SDK's (docs/benchmarks.md,
 * "What changed"). For a single `tools/call`, the request that every tool call is, the
 * message goes instead to one server built once and bound to the 2026-07-28 era (the SDK binds its
 * per-request servers the same way, package-internally), through a transport of its own that answers each
 * request on its own HTTP exchange: the SDK's protocol layer still checks the request's envelope and params,
 * runs the handler and encodes its result or error exactly as on a server of the request's own.
 *
 * Which requests: a single JSON-RPC `tools/call` that the SDK's own classifier
 * (`classifyInboundRequest`) routes to the 2026-07-28 era at the revision the server is bound to, with a
 * JSON content type and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers the SDK's header
 * rung requires, the last exactly the tool's name (no Base64 form). Anything else, including every request
 * the SDK would refuse, is left to the SDK's handler, which answers or refuses it as before.
 *
 * Each request is delivered under an id of the gateway's own (a counter), so that agents' requests with the
 * same id never meet on the shared server; the request's handler sees the agent's id, and every answer goes
 * out with it. What the server sends for a request is answered as the SDK's per-request transport answers:
 * the answer alone as one JSON body (an error raised before the handler runs with the status of the SDK's
 * ladder), anything sent before it (progress, a log message) as an event stream that the answer ends, with
 * a keep-alive comment every 15 seconds. An agent that goes away first has its call's signal aborted as the
 * SDK's per-request transport has it aborted (a closed connection), and nothing more is written for it.
 *
 * This sets a member of the SDK's `Server` that is not its public API (`_negotiatedProtocolVersion`,
 * @modelcontextprotocol/server 2.4.0, pinned). A server without it gets no direct path: every request goes
 * to the SDK's handler, and a test fails (modern-calls.test.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isJsonContentType,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  Server,
  type AuthInfo,
  type JSONRPCMessage,
  type ServerContext,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { DictionaryMap } from '../../../connectors/call-registries.js';
import { isJsonObject } from '../../../connectors/contract.js';
import { HEADER_MISMATCH } from '../../../connectors/mcp/index.js';
import type { McpConnection } from '../../pipeline/index.js';
import { timeOperations, type McpOperationMetrics } from './operation-metrics.js';
import type { ToolCallHandler } from './server.js';
import { isAnswer } from './session-answers.js';
import { PostExchange } from './post-exchange.js';
import { requestDelivery } from './request-delivery.js';
import { createRequestClassifier, type ModernRequest, type ModernRequestClassifier } from './request-classifier.js';
import { KEEP_ALIVE_MS } from './web-exchange.js';

/** A `tools/call` request this module serves, as the SDK's classifier routed it. */
export type AdmittedCall = ModernRequest;

export interface ModernCalls {
  /** The exchange's `tools/call`, when it is one this module serves (see above); undefined: the SDK's handler. */
  admit(req: IncomingMessage, body: unknown): AdmittedCall | undefined;
  /**
   * Serves `call` with the request's own `handler`; settles once its answer is written or the exchange ends.
   * Rejects, having written nothing, when the server could not take the message.
   */
  serve(call: AdmittedCall, handler: ToolCallHandler, res: ServerResponse, authInfo: AuthInfo): Promise<void>;
  /** Ends the exchanges still open (their calls see a closed connection) and closes the server. */
  close(): Promise<void>;
}

export interface ModernCallsOptions {
  /** The server's name and version, and its options: those of a request's own server. */
  serverInfo: { name: string; version: string };
  serverOptions: ConstructorParameters<typeof Server>[1];
  /** The revision the server is bound to: the requests that name it are served here. */
  revision: string;
  /** Receives `mcp.server.operation.duration` for every request served here, as for any other. */
  operationMetrics?: McpOperationMetrics;
  connection: McpConnection;
  keepAliveMs?: number;
  /** Routes a request to the era (default: the SDK's classifier, kept per envelope; request-classifier.ts). */
  classifier?: ModernRequestClassifier;
}

/**
 * The statuses the SDK's per-request transport answers an error raised before the handler runs with (its
 * `LADDER_ERROR_HTTP_STATUS`); any other error is the answer of a handler, with status 200.
 */
const LADDER_STATUS: ReadonlyMap<number, number> = new Map([
  [ProtocolErrorCode.ParseError, 400],
  [ProtocolErrorCode.InvalidRequest, 400],
  [ProtocolErrorCode.MethodNotFound, 404],
  [ProtocolErrorCode.UnsupportedProtocolVersion, 400],
  [ProtocolErrorCode.MissingRequiredClientCapability, 400],
  [HEADER_MISMATCH, 400],
]);

/** The SDK's Base64 form of a header value (`=?base64?…?=`), which its header rung decodes. */
const ENCODED_HEADER_PREFIX = '=?';

/** Undefined when the server cannot be bound to the era (see above): no direct path then. */
export function createModernCalls(options: ModernCallsOptions): ModernCalls | undefined {
  const server = new Server(options.serverInfo, options.serverOptions);
  if (!bindEra(server, options.revision)) return undefined;
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  const open = new DictionaryMap<number, OpenCall>();
  let lastId = 0;
  let closed = false;
  /** True while a message is being delivered: what is answered meanwhile was refused before any handler ran. */
  let dispatching = false;

  server.setRequestHandler('tools/call', (request, ctx) => {
    const call = open.get(ctx.mcpReq.id as number);
    if (call === undefined) throw connectionClosed();
    // The agent's own id, and the call's own signal: it aborts when the agent goes away.
    return call.handler(request, {
      ...ctx,
      mcpReq: { ...ctx.mcpReq, id: call.agentId, signal: call.controller.signal },
    } as ServerContext);
  });

  const transport: Transport = {
    start: () => Promise.resolve(),
    close: () => {
      transport.onclose?.();
      return Promise.resolve();
    },
    send(message: JSONRPCMessage, sendOptions?: TransportSendOptions): Promise<void> {
      const answer = isAnswer(message);
      const id = answer ? message.id : sendOptions?.relatedRequestId;
      // A request whose agent went away: nothing more is said to it, as on the SDK's closed transport.
      const call = typeof id === 'number' ? open.get(id) : undefined;
      if (call === undefined) return Promise.resolve();
      if (!answer) call.exchange.event(JSON.stringify(message));
      else call.exchange.answer(JSON.stringify({ ...message, id: call.agentId }), ladderStatus(message, dispatching));
      return Promise.resolve();
    },
  };
  if (options.operationMetrics !== undefined) timeOperations(transport, options.connection, options.operationMetrics);
  // Admitted calls are requests by the SDK's classifier: the protocol layer need not sort them again.
  const deliver = requestDelivery(server, transport);
  const connected = server.connect(transport);
  const classify = options.classifier ?? createRequestClassifier();

  return {
    admit(req, body) {
      if (closed || !isJsonObject(body) || body['method'] !== 'tools/call') return undefined;
      const params = body['params'];
      const name = isJsonObject(params) ? params['name'] : undefined;
      const protocolVersionHeader = headerOf(req, 'mcp-protocol-version');
      const mcpMethodHeader = headerOf(req, 'mcp-method');
      const mcpNameHeader = headerOf(req, 'mcp-name');
      if (protocolVersionHeader === undefined || mcpMethodHeader === undefined) return undefined;
      if (typeof name !== 'string' || mcpNameHeader !== name || name.startsWith(ENCODED_HEADER_PREFIX))
        return undefined;
      if (!isJsonContentType(headerOf(req, 'content-type') ?? null)) return undefined;
      const route = classify({ httpMethod: 'POST', protocolVersionHeader, mcpMethodHeader, mcpNameHeader, body });
      if (route === undefined || route.classification.revision !== options.revision) return undefined;
      return route;
    },

    async serve(call, handler, res, authInfo) {
      await connected;
      if (res.destroyed) return;
      const id = ++lastId;
      await new Promise<void>((settle, fail) => {
        const controller = new AbortController();
        const exchange = new PostExchange(res, {
          keepAliveMs,
          onGone: () => controller.abort(connectionClosed()),
          onDone: () => {
            open.delete(id);
            settle();
          },
        });
        open.set(id, { exchange, agentId: call.message.id, handler, controller });
        dispatching = true;
        try {
          deliver({ ...call.message, id }, { classification: call.classification, authInfo });
        } catch (error) {
          // Nothing was written for it: the caller answers the exchange (as an internal error).
          fail(error);
          exchange.abandon();
        } finally {
          dispatching = false;
        }
      });
    },

    async close() {
      closed = true;
      for (const { exchange, controller } of [...open.values()]) {
        // As the SDK's handler answers a request whose server closed before it was answered.
        exchange.close(499);
        controller.abort(connectionClosed());
      }
      await server.close();
    },
  };
}

/** Binds `server` to `revision` as the SDK binds its per-request servers; false when it cannot. */
function bindEra(server: Server, revision: string): boolean {
  if (!('_negotiatedProtocolVersion' in server)) return false;
  (server as unknown as { _negotiatedProtocolVersion: string })._negotiatedProtocolVersion = revision;
  return true;
}

function ladderStatus(message: JSONRPCMessage, dispatching: boolean): number {
  if (!('error' in message)) return 200;
  const code = message.error.code;
  if (!dispatching && code !== ProtocolErrorCode.MissingRequiredClientCapability) return 200;
  return LADDER_STATUS.get(code) ?? 200;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** A call in flight: its exchange, the agent's id for it, its handler, and the signal its handler sees. */
interface OpenCall {
  exchange: PostExchange;
  agentId: string | number;
  handler: ToolCallHandler;
  controller: AbortController;
}

/** The reason a call's signal aborts with when its agent goes away or the gateway closes: a closed connection. */
function connectionClosed(): SdkError {
  return new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
}
