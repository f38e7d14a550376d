/**
 * The gateway as an MCP server: one SDK `Server` per agent session (2025 era) or per request (2026-07-28
 * era), whose handlers only translate between MCP messages and the pipeline. All decisions happen in the
 * pipeline; this module converts results and errors exactly once (GatewayError -> tool result or JSON-RPC
 * error) and relays what flows back to the agent (progress, log messages, sampling/elicitation requests,
 * list_changed notifications).
 *
 * The two eras differ only in how the agent is known and how backend requests reach it:
 * - 2025 (`legacy`): the session carries principal, task and log level; sampling, elicitation and roots
 *   requests are sent to the agent on the call's stream.
 * - 2026-07-28 (`modern`): the principal comes with each request, the task from the request's task handle
 *   or task token (see `modern-task.ts`), and backend requests become the call's `input_required` result
 *   (see `input-bridge.ts`).
 */
import {
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type ClientCapabilities,
  type ServerContext,
  type Transport,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { InputRequestChannel, JsonObject, LogMessage } from '../../../connectors/contract.js';
import { GatewayError, jsonRpcCodeOf, toGatewayError, type Drain } from '../../kernel/index.js';
import { REQUEST_ELEVATION_TOOL, type CallContext, type EgressProvider, type Pipeline } from '../../pipeline/index.js';
import type { AgentScope } from './scope.js';
import { answerResultsAsJson } from './per-request-transport.js';
import { TASKS_EXTENSION, TASKS_SERVER_CAPABILITY, type ApprovalTasks } from './approval-tasks.js';

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
  /**
   * What upstreams log outside any call, per connector. Delivered to 2025 sessions that set a log level
   * (`logging/setLevel`) and can see something of that connector, at or above that level.
   */
  connectorLogs?: { subscribe(listener: (connectorId: string, message: LogMessage) => void): () => void };
}

/** Era-specific parts of a request's call context and result. */
export interface EraHooks {
  era: 'legacy' | 'modern';
  /**
   * Runs one operation that may need agent input (modern: may answer `input_required` and resume on the
   * retried request). `run` gets the channel and the signal to put into the call context.
   */
  runWithInput?(
    ctx: ServerContext,
    call: { method: string; name: string; args: JsonObject },
    run: (channel: InputRequestChannel, signal: AbortSignal) => Promise<JsonObject>,
  ): Promise<JsonObject>;
  /** Adds era fields to a result (modern: the task handle in `_meta`). */
  decorate?(result: JsonObject): Promise<JsonObject>;
  /** Modern: calls waiting for an operator become tasks for agents that negotiated the Tasks extension. */
  approvalTasks?: ApprovalTasks;
  /**
   * Modern: the method of the one request this server instance answers. Only the handlers for it are
   * registered (a per-request server need not build the others); any other method is answered as the
   * SDK answers a method without a handler. Absent: every handler.
   */
  onlyMethod?: string;
}

const LEGACY: EraHooks = { era: 'legacy' };

/**
 * The server of one 2026-07-28 request, which the SDK closes as soon as the request is answered. Its close
 * always builds a "Connection closed" error for the handlers still pending, and by then there are none
 * unless the agent went away; capturing that error's stack cost more than anything else in closing, on
 * every request. The error is built without a stack (and so is any error made while the close runs).
 *
 * Closed, it also lets go of the handlers registered on it, which hold the request's scope (its principal's
 * task, its body, its trace): a closed server is sometimes still reachable for a while (a young-generation
 * collection takes references from dead old-generation objects as roots, see
 * connectors/call-registries.ts), and then it should not keep its request alive with it.
 *
 * Connected to the SDK's per-request transport, it has that transport answer a result as JSON without a
 * web stream (per-request-transport.ts).
 */
export class RequestServer extends Server {
  /** The methods handlers were registered for (not a class field: the SDK registers some in `super()`). */
  declare private handled: string[] | undefined;
  /**
   * Called with the request's transport as the server connects to it, after the transport's answering is
   * set up and before the SDK wires it: what wraps the transport (operation metrics) sees every message.
   */
  declare onTransport: ((transport: Transport) => void) | undefined;

  override async connect(transport: Transport): Promise<void> {
    answerResultsAsJson(transport);
    this.onTransport?.(transport);
    return super.connect(transport);
  }

  protected override _wrapHandler(
    method: string,
    handler: Parameters<Server['_wrapHandler']>[1],
  ): ReturnType<Server['_wrapHandler']> {
    (this.handled ??= []).push(method);
    return super._wrapHandler(method, handler);
  }

  protected override _onclose(): void {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super._onclose();
    } finally {
      Error.stackTraceLimit = limit;
      for (const method of this.handled?.splice(0) ?? []) this.removeRequestHandler(method);
    }
  }
}

type ServerOptions = NonNullable<ConstructorParameters<typeof Server>[1]>;

/** A frozen copy of a plain JSON value: options shared by every server instance, which none may change. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/**
 * What every instance is constructed with, built once: a 2026-07-28 agent gets a server per request. The
 * SDK copies the capabilities it extends and only reads the rest; frozen, so no instance can change another's.
 */
function serverOptions(withTasks: boolean): ServerOptions {
  return deepFreeze({
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
      ...(withTasks ? TASKS_SERVER_CAPABILITY : {}),
    },
    instructions:
      'Portcullis gateway: tools are decided per call by policy. A result with isError and a code such as POLICY_DENIED or APPROVAL_REQUIRED means the call was not made.',
    // Listings depend on the principal: never cached for anyone else, and not reused without asking again.
    cacheHints: {
      'tools/list': { ttlMs: 0, cacheScope: 'private' },
      'prompts/list': { ttlMs: 0, cacheScope: 'private' },
      'resources/list': { ttlMs: 0, cacheScope: 'private' },
      'resources/templates/list': { ttlMs: 0, cacheScope: 'private' },
      'resources/read': { ttlMs: 0, cacheScope: 'private' },
    },
    // 2025 sessions relay backend requests themselves; the SDK's own input_required shim is not used.
    inputRequired: { legacyShim: false },
  });
}

const SERVER_OPTIONS = serverOptions(false);
const SERVER_OPTIONS_WITH_TASKS = serverOptions(true);

/** What the gateway's servers are constructed with, with the Tasks extension or without. */
export function gatewayServerOptions(withTasks: boolean): ServerOptions {
  return withTasks ? SERVER_OPTIONS_WITH_TASKS : SERVER_OPTIONS;
}

/** The per-call plumbing every handler of one agent's requests shares (see `callRunner`). */
interface CallRunner {
  /**
   * The context one call runs in, for the length of `run`. Its signal is the agent's cancellation, or the
   * gateway's at the end of a drain (answered as SHUTTING_DOWN), followed only while `run` runs.
   */
  withCallContext<T>(
    ctx: ServerContext,
    run: (context: CallContext) => Promise<T>,
    inputRequests?: InputRequestChannel,
    requestSignal?: AbortSignal,
  ): Promise<T>;
  /** Runs an operation that may need the agent's input, through the era's bridge when it has one. */
  withInput(
    ctx: ServerContext,
    call: { method: string; name: string; args: JsonObject },
    run: (context: CallContext) => Promise<JsonObject>,
  ): Promise<JsonObject>;
  /** Adds the era's fields to a result. */
  decorate(result: JsonObject): Promise<JsonObject>;
}

/**
 * The call plumbing for one agent's requests: `clientCapabilities` are what the agent's client declared
 * (2025 sessions: at `initialize`), which decide whether a backend's request can be relayed to it.
 */
function callRunner(
  scope: AgentScope,
  deps: McpServerDeps,
  hooks: EraHooks,
  clientCapabilities: () => ClientCapabilities | undefined,
): CallRunner {
  const decorate = hooks.decorate ?? (async (result: JsonObject) => result);

  const withCallContext = async <T>(
    ctx: ServerContext,
    run: (context: CallContext) => Promise<T>,
    inputRequests?: InputRequestChannel,
    requestSignal: AbortSignal = ctx.mcpReq.signal,
  ): Promise<T> => {
    const follow = deps.drain !== undefined ? followRequestAndDrain(requestSignal, deps.drain) : undefined;
    try {
      return await run(await callContext(ctx, follow?.signal ?? requestSignal, inputRequests));
    } finally {
      follow?.release();
    }
  };

  const callContext = async (
    ctx: ServerContext,
    signal: AbortSignal,
    inputRequests?: InputRequestChannel,
  ): Promise<CallContext> => {
    const meta = ctx.mcpReq._meta as Record<string, unknown> | undefined;
    const channel = inputRequests ?? { request: (method, params, signal) => relay(method, params, signal, ctx) };
    const task = await scope.task();
    const traceContext = scope.traceContext ?? (await scope.traceContextOfTask?.());
    return {
      principal: scope.principal,
      task,
      ...(scope.taskReadPerRequest === true ? { taskReadLive: true } : {}),
      ...(scope.sessionId !== undefined ? { sessionId: scope.sessionId } : {}),
      connection: { ...scope.connection },
      requestId: ctx.mcpReq.id,
      signal,
      meta: propagationMeta(meta, scope.headerTrace),
      ...(traceContext !== undefined ? { traceContext } : {}),
      ...justification(meta),
      ...progressForwarder(ctx),
      onLog: (message) => forwardLog(message, ctx),
      inputRequests: channel,
    };
  };

  function forwardLog(message: LogMessage, ctx: ServerContext): void {
    const level = scope.logLevel();
    if (level === undefined || LOG_LEVELS.indexOf(message.level) < LOG_LEVELS.indexOf(level)) return;
    void ctx.mcpReq.notify({ method: 'notifications/message', params: { ...message } }).catch(() => undefined);
  }

  /** 2025 era: the backend's request goes to the agent on this call's stream. */
  async function relay(
    method: string,
    params: JsonObject,
    signal: AbortSignal,
    ctx: ServerContext,
  ): Promise<JsonObject> {
    if (hooks.era === 'modern') throw new GatewayError('NOT_SUPPORTED', `${method} needs the multi-round-trip flow`);
    const capabilities = clientCapabilities() ?? {};
    const supported =
      (method === 'sampling/createMessage' && capabilities.sampling !== undefined) ||
      (method === 'elicitation/create' && capabilities.elicitation !== undefined) ||
      (method === 'roots/list' && capabilities.roots !== undefined);
    if (!supported) throw new GatewayError('NOT_SUPPORTED', `the agent's client does not support ${method}`);
    const send = ctx.mcpReq.send as (
      request: { method: string; params?: Record<string, unknown> },
      options?: { signal?: AbortSignal },
    ) => Promise<unknown>;
    return (await send({ method, params }, { signal })) as JsonObject;
  }

  async function withInput(
    ctx: ServerContext,
    call: { method: string; name: string; args: JsonObject },
    run: (context: CallContext) => Promise<JsonObject>,
  ): Promise<JsonObject> {
    if (hooks.runWithInput === undefined) return decorate(await withCallContext(ctx, run));
    const result = await hooks.runWithInput(ctx, call, (channel, signal) => withCallContext(ctx, run, channel, signal));
    return decorate(result);
  }

  return { withCallContext, withInput, decorate };
}

/** The `tools/call` handler of one agent's requests (and of `portcullis_request_elevation`). */
export type ToolCallHandler = (
  request: { params: { name: string; arguments?: Record<string, unknown> | undefined } },
  ctx: ServerContext,
) => Promise<never>;

/**
 * The `tools/call` handler of a 2026-07-28 request without a server of its own: what a request's server
 * would register, for the one that serves many requests (modern-calls.ts).
 */
export function modernToolCallHandler(scope: AgentScope, deps: McpServerDeps, hooks: EraHooks): ToolCallHandler {
  return toolCallHandler(
    deps,
    hooks,
    callRunner(scope, deps, hooks, () => undefined),
  );
}

function toolCallHandler(deps: McpServerDeps, hooks: EraHooks, runner: CallRunner): ToolCallHandler {
  const { pipeline } = deps;
  const { withCallContext, withInput, decorate } = runner;
  return async (request, ctx) => {
    const name = request.params.name;
    const args = (request.params.arguments ?? {}) as JsonObject;
    if (deps.elevationTool && name === REQUEST_ELEVATION_TOOL.name) {
      const target = typeof args['tool'] === 'string' ? args['tool'] : '';
      const targetArgs =
        args['arguments'] !== null && typeof args['arguments'] === 'object' && !Array.isArray(args['arguments'])
          ? (args['arguments'] as JsonObject)
          : undefined;
      const why = typeof args['justification'] === 'string' ? args['justification'].trim().slice(0, 1000) : '';
      if (target === '' || targetArgs === undefined || why === '') {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'expected { tool, arguments, justification }', {
          code: 'INVALID_ARGUMENTS',
        });
      }
      try {
        return (await decorate(
          await withCallContext(
            ctx,
            async (context) =>
              (await pipeline.requestElevation(target, targetArgs, {
                ...context,
                justification: why,
              })) as unknown as JsonObject,
          ),
        )) as never;
      } catch (error) {
        throw toProtocolError(error);
      }
    }
    const tasks = hooks.approvalTasks;
    const asTask = tasks !== undefined && tasks.negotiated(ctx.mcpReq.envelope);
    try {
      return (await withInput(ctx, { method: 'tools/call', name, args }, async (context) => {
        if (!asTask) return (await pipeline.callTool(name, args, context)) as unknown as JsonObject;
        // Tasks negotiated: a call that needs approval files its request and becomes a task at once.
        const result = (await pipeline.callTool(name, args, {
          ...context,
          deferApproval: true,
        })) as unknown as JsonObject;
        const approvalId = tasks.pendingApproval(result);
        if (approvalId === undefined) return result;
        return tasks.start({
          principal: context.principal,
          tool: name,
          approvalId,
          run: async (signal) =>
            (await pipeline.callTool(name, args, approvedRunContext(context, signal))) as unknown as JsonObject,
        });
      })) as never;
    } catch (error) {
      throw toProtocolError(error);
    }
  };
}

export function createGatewayMcpServer(
  scope: AgentScope,
  deps: McpServerDeps,
  hooks: EraHooks & { era: 'modern' },
): RequestServer;
export function createGatewayMcpServer(scope: AgentScope, deps: McpServerDeps, hooks?: EraHooks): Server;
export function createGatewayMcpServer(scope: AgentScope, deps: McpServerDeps, hooks: EraHooks = LEGACY): Server {
  const ServerClass = hooks.era === 'modern' ? RequestServer : Server;
  const server = new ServerClass(deps.serverInfo, gatewayServerOptions(hooks.approvalTasks !== undefined));
  const { pipeline } = deps;
  const catalog = pipeline.catalog;
  const serves = (method: string): boolean => hooks.onlyMethod === undefined || hooks.onlyMethod === method;
  const runner = callRunner(scope, deps, hooks, () => server.getClientCapabilities());
  const { withCallContext, withInput } = runner;

  if (serves('tools/list'))
    server.setRequestHandler(
      'tools/list',
      async () =>
        ({
          tools: [...pipeline.listTools(scope.principal), ...(deps.elevationTool ? [REQUEST_ELEVATION_TOOL] : [])],
        }) as never,
    );

  if (serves('tools/call')) server.setRequestHandler('tools/call', toolCallHandler(deps, hooks, runner));

  if (hooks.approvalTasks !== undefined && TASK_METHODS.some(serves))
    registerTaskHandlers(server, scope, hooks.approvalTasks);

  const visibility = pipeline.visibility;

  if (serves('resources/list'))
    server.setRequestHandler('resources/list', async () => ({
      resources: visibility.resources(scope.principal),
    }));

  if (serves('resources/templates/list'))
    server.setRequestHandler('resources/templates/list', async () => ({
      resourceTemplates: visibility.resourceTemplates(scope.principal),
    }));

  if (serves('resources/read'))
    server.setRequestHandler('resources/read', async (request, ctx) => {
      const uri = request.params.uri;
      try {
        return (await withInput(ctx, { method: 'resources/read', name: uri, args: {} }, (context) =>
          pipeline.readResource(uri, context),
        )) as never;
      } catch (error) {
        const protocolError = toProtocolError(error);
        // A missing resource names the URI it was asked for (`data.uri`), as 2026-07-28 asks.
        const data = protocolError.data as Record<string, unknown> | undefined;
        if (data?.['code'] === 'RESOURCE_NOT_FOUND' && data['uri'] === undefined)
          throw new ProtocolError(protocolError.code, protocolError.message, { ...data, uri });
        throw protocolError;
      }
    });

  /**
   * Give back a 2025 session's hold on an upstream subscription (best effort: its interest ends anyway). Used
   * by its `resources/unsubscribe` and when it closes (both below).
   */
  const releaseSubscription = async (uri: string, callId: string, signal: AbortSignal): Promise<void> => {
    const connector = catalog.resolveResource(uri);
    if (connector?.catalog?.unsubscribeResource === undefined) return;
    try {
      await connector.catalog.unsubscribeResource(uri, {
        callId,
        signal,
        fetch: deps.egress.fetchFor({ connector: connector.id, principal: scope.principal, task: await scope.task() }),
        meta: {},
      });
    } catch {
      // The upstream is gone or refuses: nothing this session can do about it.
    }
  };

  if (hooks.era === 'legacy') {
    server.setRequestHandler('resources/subscribe', async (request, ctx) => {
      // A session holds a subscription once, however often it asks: one unsubscribe (or its close) ends it.
      if (scope.subscriptions?.has(request.params.uri) === true) return {};
      try {
        await withCallContext(ctx, (context) => pipeline.subscribeResource(request.params.uri, context));
      } catch (error) {
        throw toProtocolError(error);
      }
      scope.subscriptions?.add(request.params.uri);
      return {};
    });

    // Unsubscribing only stops what this session hears; the upstream subscription is released best-effort.
    server.setRequestHandler('resources/unsubscribe', async (request, ctx) => {
      if (scope.subscriptions?.delete(request.params.uri) === true)
        await releaseSubscription(request.params.uri, String(ctx.mcpReq.id), ctx.mcpReq.signal);
      return {};
    });
  }

  if (serves('prompts/list'))
    server.setRequestHandler('prompts/list', async () => ({
      prompts: visibility.prompts(scope.principal),
    }));

  if (serves('prompts/get'))
    server.setRequestHandler('prompts/get', async (request, ctx) => {
      const name = request.params.name;
      const args = request.params.arguments ?? {};
      try {
        return (await withInput(ctx, { method: 'prompts/get', name, args: args as JsonObject }, (context) =>
          pipeline.getPrompt(name, args, context),
        )) as never;
      } catch (error) {
        throw toProtocolError(error);
      }
    });

  if (serves('completion/complete'))
    server.setRequestHandler('completion/complete', async (request, ctx) => {
      try {
        return (await withCallContext(ctx, (context) =>
          pipeline.complete(request.params as JsonObject, context),
        )) as never;
      } catch (error) {
        throw toProtocolError(error);
      }
    });

  if (hooks.era === 'legacy') {
    // Tell the agent when what it can see changed (upstream list_changed, policy reload).
    const unsubscribe = catalog.onChange((kinds) => {
      if (kinds.has('tools')) void server.sendToolListChanged().catch(() => undefined);
      if (kinds.has('resources')) void server.sendResourceListChanged().catch(() => undefined);
      if (kinds.has('prompts')) void server.sendPromptListChanged().catch(() => undefined);
    });
    const unsubscribeUpdates = deps.resourceUpdates?.subscribe((uri) => {
      if (scope.subscriptions?.has(uri) === true && visibility.resourceVisible(scope.principal, uri))
        void server.sendResourceUpdated({ uri }).catch(() => undefined);
    });
    // Connector-level logs only reach a session that asked for logs: the default level is not a request.
    let levelSet = false;
    server.setRequestHandler('logging/setLevel', async (request) => {
      scope.setLogLevel?.(request.params.level);
      levelSet = true;
      return {};
    });
    const unsubscribeLogs = deps.connectorLogs?.subscribe((connectorId, message) => {
      const level = scope.logLevel();
      if (!levelSet || level === undefined) return;
      if (LOG_LEVELS.indexOf(message.level) < LOG_LEVELS.indexOf(level)) return;
      if (!pipeline.connectorVisible(scope.principal, connectorId)) return;
      void server.sendLoggingMessage({ ...message }).catch(() => undefined);
    });
    const previousOnClose = server.onclose;
    server.onclose = () => {
      unsubscribe();
      unsubscribeUpdates?.();
      unsubscribeLogs?.();
      // The session's subscriptions end with it: the upstream ones are released when no session holds them.
      const held = [...(scope.subscriptions ?? [])];
      scope.subscriptions?.clear();
      for (const uri of held) void releaseSubscription(uri, 'session-closed', new AbortController().signal);
      previousOnClose?.();
    };
  }

  return server;
}

const TaskIdParams = z.object({ taskId: z.string() });
/** The methods registerTaskHandlers answers. */
const TASK_METHODS: readonly string[] = ['tasks/get', 'tasks/cancel', 'tasks/update'];

/** `tasks/get`, `tasks/cancel` and `tasks/update` of the Tasks extension (see approval-tasks.ts). */
function registerTaskHandlers(server: Server, scope: AgentScope, tasks: ApprovalTasks): void {
  const handle = (method: string, answer: (taskId: string) => Promise<JsonObject>) => {
    const register = server.setRequestHandler.bind(server) as unknown as (
      method: string,
      schemas: { params: typeof TaskIdParams },
      handler: (params: { taskId: string }, ctx: ServerContext) => Promise<JsonObject>,
    ) => void;
    register(method, { params: TaskIdParams }, async ({ taskId }, ctx) => {
      // The task methods exist only for a request that declares the extension (-32021 otherwise).
      if (!tasks.negotiated(ctx.mcpReq.envelope)) {
        throw new MissingRequiredClientCapabilityError(
          { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
          `${method} needs the ${TASKS_EXTENSION} extension in the request's client capabilities`,
        );
      }
      try {
        return await answer(taskId);
      } catch (error) {
        throw toProtocolError(error);
      }
    });
  };
  handle('tasks/get', (taskId) => tasks.get(scope.principal, taskId));
  handle('tasks/cancel', (taskId) => tasks.cancel(scope.principal, taskId));
  handle('tasks/update', (taskId) => tasks.update(scope.principal, taskId));
}

/**
 * The context of a call run again once its approval came: the same principal, task, trace and request
 * facts, a signal of its own, and no stream back to the agent (no progress, logs, or backend requests:
 * a backend that asks the agent something is answered NOT_SUPPORTED).
 */
function approvedRunContext(context: CallContext, signal: AbortSignal): CallContext {
  return {
    principal: context.principal,
    task: context.task,
    ...(context.sessionId !== undefined ? { sessionId: context.sessionId } : {}),
    ...(context.connection !== undefined ? { connection: context.connection } : {}),
    ...(context.requestId !== undefined ? { requestId: context.requestId } : {}),
    signal,
    meta: context.meta,
    ...(context.traceContext !== undefined ? { traceContext: context.traceContext } : {}),
    ...(context.justification !== undefined ? { justification: context.justification } : {}),
    inputRequests: {
      request: async (method) => {
        throw new GatewayError('NOT_SUPPORTED', `${method} cannot reach the agent while its task runs`);
      },
    },
  };
}

/**
 * Only `traceparent`/`tracestate` travel from the agent to backends, and only when well-formed: from
 * `_meta`, else from the request's HTTP trace context headers.
 */
function propagationMeta(
  meta: Record<string, unknown> | undefined,
  headerTrace: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  const source = typeof meta?.['traceparent'] === 'string' ? meta : headerTrace;
  const traceparent = source?.['traceparent'];
  if (typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
    out['traceparent'] = traceparent;
    const tracestate = source?.['tracestate'];
    if (typeof tracestate === 'string' && tracestate.length <= 512) out['tracestate'] = tracestate;
  }
  return out;
}

/** An agent may say why it makes a call (`_meta["portcullis/justification"]`); operators see it. */
function justification(meta: Record<string, unknown> | undefined): { justification?: string } {
  const value = meta?.['portcullis/justification'];
  return typeof value === 'string' && value.trim() !== '' ? { justification: value.trim().slice(0, 1000) } : {};
}

function progressForwarder(ctx: ServerContext): Pick<CallContext, 'onProgress'> {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return {};
  return {
    onProgress: (update) => {
      void ctx.mcpReq
        .notify({ method: 'notifications/progress', params: { progressToken: token, ...update } })
        .catch(() => undefined);
    },
  };
}

export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  const gatewayError = toGatewayError(error);
  return new ProtocolError(jsonRpcCodeOf(gatewayError.code), gatewayError.message, {
    code: gatewayError.code,
    ...(gatewayError.details ?? {}),
  });
}

/**
 * A signal that aborts with the reason of whichever of the request's signal and the drain aborts first,
 * followed until `release()`: a listener on the request's signal (its own, short-lived) and a place among
 * the drain's followers (see Drain.follow).
 */
function followRequestAndDrain(request: AbortSignal, drain: Drain): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  if (request.aborted) {
    controller.abort(request.reason);
    return { signal: controller.signal, release: () => undefined };
  }
  const unfollowDrain = drain.follow(controller);
  if (controller.signal.aborted) return { signal: controller.signal, release: () => undefined };
  const onRequestAbort = (): void => {
    unfollowDrain();
    controller.abort(request.reason);
  };
  request.addEventListener('abort', onRequestAbort, { once: true });
  return {
    signal: controller.signal,
    release() {
      request.removeEventListener('abort', onRequestAbort);
      unfollowDrain();
    },
  };
}
