/**
 * The gateway as an MCP server: one SDK `Server` per agent session, whose handlers only translate between
 * MCP messages and the pipeline. All decisions happen in the pipeline; this module converts results and
 * errors exactly once (GatewayError -> tool result or JSON-RPC error) and relays what flows back to the
 * agent (progress, log messages, sampling/elicitation requests, list_changed notifications).
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { JsonObject, LogMessage } from '../../../connectors/contract.js';
import { GatewayError, jsonRpcCodeOf, toGatewayError, type Drain } from '../../kernel/index.js';
import { REQUEST_ELEVATION_TOOL, type CallContext, type EgressProvider, type Pipeline } from '../../pipeline/index.js';
import type { McpSession } from './session.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export interface McpServerDeps {
  pipeline: Pipeline;
  /** Shutdown: calls still running when the drain time is over are cancelled through its signal. */
  drain?: Drain;
  egress: EgressProvider;
  serverInfo: { name: string; version: string };
  /** List and serve `portcullis_request_elevation` (approvals configured). */
  elevationTool?: boolean;
  /** Upstream `notifications/resources/updated`, forwarded to sessions that subscribed to the URI. */
  resourceUpdates?: { subscribe(listener: (uri: string) => void): () => void };
}

export function createGatewayMcpServer(session: McpSession, deps: McpServerDeps): Server {
  const server = new Server(deps.serverInfo, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    },
    instructions:
      'Portcullis gateway: tools are decided per call by policy. A result with isError and a code such as POLICY_DENIED or APPROVAL_REQUIRED means the call was not made.',
  });
  const { pipeline } = deps;
  const catalog = pipeline.catalog;

  const callContext = (extra: Extra): CallContext => ({
    principal: session.principal,
    task: session.task,
    ...(extra.sessionId !== undefined ? { sessionId: extra.sessionId } : {}),
    connection: { ...session.connection },
    requestId: extra.requestId,
    // The agent's cancellation, or the gateway's at the end of a drain (answered as SHUTTING_DOWN).
    signal: deps.drain !== undefined ? AbortSignal.any([extra.signal, deps.drain.signal]) : extra.signal,
    meta: propagationMeta(extra._meta),
    ...(session.traceContext !== undefined ? { traceContext: session.traceContext } : {}),
    ...justification(extra._meta),
    ...progressForwarder(extra),
    onLog: (message) => forwardLog(message, extra),
    inputRequests: { request: (method, params, signal) => relay(method, params, signal, extra) },
  });

  function forwardLog(message: LogMessage, extra: Extra): void {
    if (LOG_LEVELS.indexOf(message.level) < LOG_LEVELS.indexOf(session.logLevel)) return;
    void extra.sendNotification({ method: 'notifications/message', params: { ...message } }).catch(() => undefined);
  }

  async function relay(method: string, params: JsonObject, signal: AbortSignal, extra: Extra): Promise<JsonObject> {
    const capabilities = server.getClientCapabilities() ?? {};
    const schema =
      method === 'sampling/createMessage' && capabilities.sampling !== undefined
        ? CreateMessageResultSchema
        : method === 'elicitation/create' && capabilities.elicitation !== undefined
          ? ElicitResultSchema
          : method === 'roots/list' && capabilities.roots !== undefined
            ? ListRootsResultSchema
            : undefined;
    if (schema === undefined) throw new GatewayError('NOT_SUPPORTED', `the agent's client does not support ${method}`);
    const result = await extra.sendRequest({ method, params } as ServerRequest, schema, { signal });
    return result as JsonObject;
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...pipeline.listTools(session.principal), ...(deps.elevationTool ? [REQUEST_ELEVATION_TOOL] : [])],
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = (request.params.arguments ?? {}) as JsonObject;
    if (deps.elevationTool && request.params.name === REQUEST_ELEVATION_TOOL.name) {
      const target = typeof args['tool'] === 'string' ? args['tool'] : '';
      const targetArgs =
        args['arguments'] !== null && typeof args['arguments'] === 'object' && !Array.isArray(args['arguments'])
          ? (args['arguments'] as JsonObject)
          : undefined;
      const why = typeof args['justification'] === 'string' ? args['justification'].trim().slice(0, 1000) : '';
      if (target === '' || targetArgs === undefined || why === '') {
        throw new McpError(ErrorCode.InvalidParams, 'expected { tool, arguments, justification }', {
          code: 'INVALID_ARGUMENTS',
        });
      }
      try {
        return (await pipeline.requestElevation(target, targetArgs, {
          ...callContext(extra),
          justification: why,
        })) as never;
      } catch (error) {
        throw toMcpError(error);
      }
    }
    try {
      const result = await pipeline.callTool(request.params.name, args, callContext(extra));
      return result as never;
    } catch (error) {
      throw toMcpError(error);
    }
  });

  const visibility = pipeline.visibility;

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: visibility.resources(session.principal),
  }));

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: visibility.resourceTemplates(session.principal),
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    try {
      return (await pipeline.readResource(request.params.uri, callContext(extra))) as never;
    } catch (error) {
      throw toMcpError(error);
    }
  });

  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    try {
      await pipeline.subscribeResource(request.params.uri, callContext(extra));
    } catch (error) {
      throw toMcpError(error);
    }
    session.subscriptions.add(request.params.uri);
    return {};
  });

  // Unsubscribing only stops what this session hears; the upstream subscription is released best-effort.
  server.setRequestHandler(UnsubscribeRequestSchema, async (request, extra) => {
    session.subscriptions.delete(request.params.uri);
    const connector = catalog.resolveResource(request.params.uri);
    if (connector?.catalog?.unsubscribeResource !== undefined) {
      await connector.catalog
        .unsubscribeResource(request.params.uri, {
          callId: String(extra.requestId),
          signal: extra.signal,
          fetch: deps.egress.fetchFor({ connector: connector.id, principal: session.principal, task: session.task }),
          meta: {},
        })
        .catch(() => undefined);
    }
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: visibility.prompts(session.principal),
  }));

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    try {
      return (await pipeline.getPrompt(
        request.params.name,
        request.params.arguments ?? {},
        callContext(extra),
      )) as never;
    } catch (error) {
      throw toMcpError(error);
    }
  });

  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    try {
      return (await pipeline.complete(request.params as JsonObject, callContext(extra))) as never;
    } catch (error) {
      throw toMcpError(error);
    }
  });

  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    session.logLevel = request.params.level;
    return {};
  });

  // Tell the agent when what it can see changed (upstream list_changed, policy reload).
  const unsubscribe = catalog.onChange((kinds) => {
    if (kinds.has('tools')) void server.sendToolListChanged().catch(() => undefined);
    if (kinds.has('resources')) void server.sendResourceListChanged().catch(() => undefined);
    if (kinds.has('prompts')) void server.sendPromptListChanged().catch(() => undefined);
  });
  const unsubscribeUpdates = deps.resourceUpdates?.subscribe((uri) => {
    if (session.subscriptions.has(uri) && visibility.resourceVisible(session.principal, uri))
      void server.sendResourceUpdated({ uri }).catch(() => undefined);
  });
  const previousOnClose = server.onclose;
  server.onclose = () => {
    unsubscribe();
    unsubscribeUpdates?.();
    previousOnClose?.();
  };

  return server;
}

/** Only `traceparent`/`tracestate` travel from the agent's `_meta` to backends, and only when well-formed. */
function propagationMeta(meta: Extra['_meta']): Record<string, string> {
  const out: Record<string, string> = {};
  const traceparent = meta?.['traceparent'];
  if (typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
    out['traceparent'] = traceparent;
    const tracestate = meta?.['tracestate'];
    if (typeof tracestate === 'string' && tracestate.length <= 512) out['tracestate'] = tracestate;
  }
  return out;
}

/** An agent may say why it makes a call (`_meta["portcullis/justification"]`); operators see it. */
function justification(meta: Extra['_meta']): { justification?: string } {
  const value = meta?.['portcullis/justification'];
  return typeof value === 'string' && value.trim() !== '' ? { justification: value.trim().slice(0, 1000) } : {};
}

function progressForwarder(extra: Extra): Pick<CallContext, 'onProgress'> {
  const token = extra._meta?.progressToken;
  if (token === undefined) return {};
  return {
    onProgress: (update) => {
      void extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...update } })
        .catch(() => undefined);
    },
  };
}

function toMcpError(error: unknown): McpError {
  if (error instanceof McpError) return error;
  const gatewayError = toGatewayError(error);
  return new McpError(jsonRpcCodeOf(gatewayError.code), gatewayError.message, {
    code: gatewayError.code,
    ...(gatewayError.details ?? {}),
  });
}
