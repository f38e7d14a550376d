/**
 * The 2026-07-28 front door: stateless MCP over Streamable HTTP, one SDK server instance per request
 * (`createMcpHandler` with `legacy: 'reject'`; 2025 traffic never reaches it, see http-edge.ts), except a
 * single `tools/call` in the `auto` response mode, which goes to one long-lived server (modern-calls.ts)
 * after the same checks, with the same request scope and handler.
 *
 * The SDK's validation ladder runs before any handler: the per-request `_meta` envelope, the protocol
 * version, and the `Mcp-Method`/`Mcp-Name` headers against the body (a mismatch or a missing header is
 * answered 400 with -32020 before policy or any backend sees the request; the `Mcp-Param-*` headers of a
 * `tools/call` are checked the same way, see connectors/mcp/param-headers.ts). Then each request runs in a
 * scope of its own: the principal the edge authenticated for this request, the task its task token or
 * task handle names (modern-task.ts), its log level from the envelope, and the trace context from its
 * `_meta` or its `traceparent` header. Backend requests for the agent become `input_required` rounds
 * (input-bridge.ts). List results say `cacheScope: private` with `ttlMs: 0`: what an agent sees depends on
 * its principal and must not be served to another from a cache.
 *
 * `subscriptions/listen` streams hear list changes and resource updates through the event bus; a stream
 * may only name resources its principal can see. With a bus shared across instances (shared-event-bus.ts),
 * a stream is refused while the bus cannot hear the other instances, and an open stream ends with
 * STORE_UNAVAILABLE when it stops hearing them (listen-loss.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createMcpHandler,
  InMemoryServerEventBus,
  type AuthInfo,
  type McpRequestContext,
  type ServerEventBus,
} from '@modelcontextprotocol/server';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { isJsonObject, type JsonObject } from '../../../connectors/contract.js';
import {
  checkParamHeaders,
  HEADER_MISMATCH,
  paramHeaderDeclarations,
  type ParamHeaderMismatch,
} from '../../../connectors/mcp/index.js';
import { jsonRpcCodeOf, toGatewayError, type Principal } from '../../kernel/index.js';
import { extractTraceparentFromMeta, taskTraceContext, traceHeaders } from '../../services/telemetry/index.js';
import type { ApprovalTasks } from './approval-tasks.js';
import type { InputBridge } from './input-bridge.js';
import { TASK_HANDLE_META_KEY, type ModernTask, type ModernTasks } from './modern-task.js';
import type { McpConnection } from '../../pipeline/index.js';
import type { AgentScope, LogLevel } from './scope.js';
import { timeOperations, type McpOperationMetrics } from './operation-metrics.js';
import {
  createGatewayMcpServer,
  gatewayServerOptions,
  modernToolCallHandler,
  type EraHooks,
  type McpServerDeps,
  type RequestServer,
} from './server.js';
import { createModernCalls } from './modern-calls.js';
import { endOnLoss, type LossSource } from './listen-loss.js';
import { sendFetchResponse, toFetchRequest, type ResponseMode } from './web-exchange.js';
import { sendJson } from '../http/index.js';

export const MODERN_PROTOCOL_VERSION = '2026-07-28';
const LOG_LEVEL_META_KEY = 'io.modelcontextprotocol/logLevel';
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface ModernEdgeOptions extends McpServerDeps {
  responseMode: ResponseMode;
  maxRequestBytes: number;
  tasks: ModernTasks;
  bridge: InputBridge;
  /** Approvals as tasks for agents that negotiate the Tasks extension (approvals configured). */
  approvalTasks?: ApprovalTasks;
  /**
   * Change events for `subscriptions/listen` (in-process by default). A bus that can lose events says
   * whether it hears them now (`available`) and when it stopped (`onLost`).
   */
  bus?: ServerEventBus & { available?(): boolean; onLost?: LossSource };
  onError?: (error: Error) => void;
  /** Receives `mcp.server.operation.duration` for every 2026-07-28 request. */
  operationMetrics?: McpOperationMetrics;
}

/** What the HTTP edge hands over for one request, after Host/Origin, authentication and the body limit. */
export interface ModernRequest {
  principal: Principal;
  body: unknown;
  /** The exchange as a web-standard request, when the edge already built it (see web-exchange.ts). */
  fetchRequest?: Request;
}

export interface ModernEdge {
  serve(req: IncomingMessage, res: ServerResponse, request: ModernRequest): Promise<void>;
  close(): Promise<void>;
}

interface RequestExtra {
  principal: Principal;
  body: unknown;
  httpVersion: string;
  headerTrace: Record<string, string>;
}

export function createModernEdge(options: ModernEdgeOptions): ModernEdge {
  const bus = options.bus ?? new InMemoryServerEventBus();
  const handler = createMcpHandler((ctx) => serverFor(ctx), {
    legacy: 'reject',
    responseMode: options.responseMode,
    maxRequestBodySize: options.maxRequestBytes,
    bus,
    ...(options.onError !== undefined ? { onerror: options.onError } : {}),
  });
  // A single `tools/call` in the `auto` response mode: served without the SDK's per-request handler.
  const calls =
    options.responseMode === 'auto'
      ? createModernCalls({
          serverInfo: options.serverInfo,
          serverOptions: gatewayServerOptions(options.approvalTasks !== undefined),
          revision: MODERN_PROTOCOL_VERSION,
          ...(options.operationMetrics !== undefined ? { operationMetrics: options.operationMetrics } : {}),
          connection: MODERN_CONNECTION,
        })
      : undefined;
  const onLost = options.bus?.onLost?.bind(options.bus);
  const fetchEndingOnLoss: typeof handler.fetch = async (request, requestOptions) => {
    const response = await handler.fetch(request, requestOptions);
    const body = requestOptions?.parsedBody;
    if (onLost === undefined || !isJsonObject(body) || body['method'] !== 'subscriptions/listen') return response;
    return endOnLoss(response, idOf(body), onLost);
  };
  const { pipeline } = options;

  // What agents can see changed (upstream list_changed, policy reload), and upstream resource updates.
  const unsubscribe = pipeline.catalog.onChange((kinds) => {
    if (kinds.has('tools')) handler.notify.toolsChanged();
    if (kinds.has('resources')) handler.notify.resourcesChanged();
    if (kinds.has('prompts')) handler.notify.promptsChanged();
  });
  const unsubscribeUpdates = options.resourceUpdates?.subscribe((uri) => handler.notify.resourceUpdated(uri));

  function serverFor(ctx: McpRequestContext) {
    const extra = ctx.authInfo?.extra as RequestExtra | undefined;
    if (extra === undefined) throw new Error('modern MCP request without an authenticated principal');
    const { scope, hooks } = requestScope(extra);
    const method =
      isJsonObject(extra.body) && typeof extra.body['method'] === 'string' ? extra.body['method'] : undefined;
    const server = createGatewayMcpServer(scope, options, {
      ...hooks,
      ...(method !== undefined ? { onlyMethod: method } : {}),
    });
    const metrics = options.operationMetrics;
    if (metrics !== undefined) timeWhenConnected(server, scope.connection, metrics);
    return server;
  }

  /** A request's scope (its principal, task, log level and trace) and what its era adds to its handlers. */
  function requestScope(extra: RequestExtra): { scope: AgentScope; hooks: EraHooks & { era: 'modern' } } {
    const { principal, body } = extra;
    const meta = metaOf(body);
    let task: Promise<ModernTask> | undefined;
    const resolveTask = (): Promise<ModernTask> =>
      (task ??= options.tasks.resolve(principal, meta, requestTrace).catch((error: unknown) => {
        throw toGatewayError(error);
      }));
    // The request's own trace: a task it starts joins it; its calls link to it.
    const traceSource = typeof meta?.['traceparent'] === 'string' ? meta : extra.headerTrace;
    const requestTrace = extractTraceparentFromMeta(traceSource, ROOT_CONTEXT);
    const scope: AgentScope = {
      principal,
      task: async () => (await resolveTask()).facts,
      taskReadPerRequest: true,
      // The task's span when it keeps one (tracing on), else the request's own trace.
      traceContextOfTask: async () => {
        const { trace } = await resolveTask();
        return (trace !== undefined ? taskTraceContext(trace) : undefined) ?? requestTrace;
      },
      logLevel: () => {
        const level = meta?.[LOG_LEVEL_META_KEY];
        return typeof level === 'string' && LOG_LEVELS.includes(level) ? (level as LogLevel) : undefined;
      },
      connection: { ...MODERN_CONNECTION, networkProtocolVersion: extra.httpVersion },
      headerTrace: extra.headerTrace,
    };
    const hooks: EraHooks & { era: 'modern' } = {
      era: 'modern',
      runWithInput: (ctx, call, run) => options.bridge.run(ctx, principal, call, run),
      ...(options.approvalTasks !== undefined ? { approvalTasks: options.approvalTasks } : {}),
      async decorate(result: JsonObject) {
        if (task === undefined) return result;
        const { handle } = await task;
        if (handle === undefined) return result;
        const resultMeta = isJsonObject(result['_meta']) ? result['_meta'] : {};
        return { ...result, _meta: { ...resultMeta, [TASK_HANDLE_META_KEY]: handle } };
      },
    };
    return { scope, hooks };
  }

  /** A request the edge failed to serve: reported, and answered as the SDK answers one (500, internal error). */
  function failed(res: ServerResponse, body: unknown, error: unknown): void {
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
    if (!res.headersSent) sendJson(res, 500, internalError(body));
  }

  return {
    async serve(req, res, request) {
      if (isListen(request) && options.bus?.available?.() === false) {
        refuse(res, request, 503, {
          code: jsonRpcCodeOf('STORE_UNAVAILABLE'),
          message: 'change events of the other gateway instances cannot be heard now; listen again shortly',
          data: { code: 'STORE_UNAVAILABLE' },
        });
        return;
      }
      if (!listenAllowed(request)) {
        refuse(res, request, 403, {
          code: -32602,
          message: 'a subscription names a resource this agent cannot see',
          data: { code: 'FORBIDDEN' },
        });
        return;
      }
      const mismatch = paramHeaderMismatch(req, request);
      if (mismatch !== undefined) {
        sendJson(res, 400, {
          jsonrpc: '2.0',
          id: idOf(request.body),
          error: {
            code: HEADER_MISMATCH,
            message: `Bad Request: ${mismatch.message}`,
            data: { mismatch: { header: mismatch.header } },
          },
        });
        return;
      }
      const extra: RequestExtra = {
        principal: request.principal,
        body: request.body,
        httpVersion: req.httpVersion,
        headerTrace: traceHeaders(req.headers),
      };
      const authInfo: AuthInfo = { token: '', clientId: request.principal.agentId, scopes: [], extra: { ...extra } };
      const call = calls?.admit(req, request.body);
      if (calls !== undefined && call !== undefined) {
        const { scope, hooks } = requestScope(extra);
        try {
          await calls.serve(call, modernToolCallHandler(scope, options, hooks), res, authInfo);
        } catch (error) {
          failed(res, request.body, error);
        }
        return;
      }
      const fetchRequest = request.fetchRequest ?? toFetchRequest(req, res);
      let response: Response;
      try {
        response = await fetchEndingOnLoss(fetchRequest, { authInfo, parsedBody: request.body });
      } catch (error) {
        failed(res, request.body, error);
        return;
      }
      await sendFetchResponse(response, res);
    },
    async close() {
      unsubscribe();
      unsubscribeUpdates?.();
      options.bridge.close();
      await calls?.close();
      await options.approvalTasks?.close();
      await handler.close();
    },
  };

  /**
   * `Mcp-Param-*` headers of a `tools/call` against the tool's schema as this principal sees it. Most tools
   * declare no such header: the tool's visibility to the principal (a policy evaluation) is asked only of
   * one that does.
   */
  function paramHeaderMismatch(req: IncomingMessage, request: ModernRequest): ParamHeaderMismatch | undefined {
    const body = request.body as { method?: unknown; params?: { name?: unknown; arguments?: unknown } };
    if (body?.method !== 'tools/call' || typeof body.params?.name !== 'string') return undefined;
    const name = body.params.name;
    const tool = pipeline.catalog.resolveTool(name);
    const declarations = tool !== undefined ? paramHeaderDeclarations(tool.descriptor.inputSchema) : [];
    if (declarations.length === 0 || pipeline.visibleTool(request.principal, name) === undefined) return undefined;
    return checkParamHeaders(declarations, body.params.arguments, (header) => {
      const value = req.headers[header];
      return typeof value === 'string' ? value : undefined;
    });
  }

  function refuse(
    res: ServerResponse,
    request: ModernRequest,
    status: number,
    error: { code: number; message: string; data: { code: string } },
  ): void {
    sendJson(
      res,
      status,
      { jsonrpc: '2.0', id: idOf(request.body), error },
      status === 503 ? { 'retry-after': '5' } : {},
    );
  }

  /** A `subscriptions/listen` may name resource URIs: only ones the principal can see. */
  function listenAllowed(request: ModernRequest): boolean {
    const body = request.body as { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } };
    if (body?.method !== 'subscriptions/listen') return true;
    const uris = body.params?.notifications?.resourceSubscriptions;
    if (!Array.isArray(uris)) return true;
    return uris.every((uri) => typeof uri === 'string' && pipeline.visibility.resourceVisible(request.principal, uri));
  }
}

/**
 * Times the exchange of a per-request server as its transport (the SDK's) connects, as for 2025 sessions.
 * Its own function, so that the hook the server keeps holds the connection's facts and nothing else of the
 * request.
 */
function timeWhenConnected(
  server: RequestServer,
  connection: AgentScope['connection'],
  metrics: McpOperationMetrics,
): void {
  server.onTransport = (transport) => timeOperations(transport, connection, metrics);
}

function isListen(request: ModernRequest): boolean {
  return isJsonObject(request.body) && request.body['method'] === 'subscriptions/listen';
}

function metaOf(body: unknown): Record<string, unknown> | undefined {
  const params = isJsonObject(body) ? body['params'] : undefined;
  const meta = isJsonObject(params) ? params['_meta'] : undefined;
  return isJsonObject(meta) ? meta : undefined;
}

/** A 2026-07-28 request's connection, as its metrics and spans name it (its HTTP version aside). */
const MODERN_CONNECTION: McpConnection = {
  transport: 'tcp',
  protocolName: 'http',
  protocolVersion: MODERN_PROTOCOL_VERSION,
};

/** The SDK's answer to a request its handler failed to serve. */
function internalError(body: unknown): JsonObject {
  return { jsonrpc: '2.0', id: idOf(body), error: { code: -32603, message: 'Internal server error' } };
}

function idOf(body: unknown): string | number | null {
  const id = isJsonObject(body) ? body['id'] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
