/**
 * The `mcp` connector: one upstream MCP server, over stdio or Streamable HTTP, seen by the gateway as a
 * Connector with a federated catalog.
 *
 * Lifecycle. `start()` connects and loads the catalog. When the connection is lost (the stdio child
 * exits, or the HTTP server answers 404 for the session) the connector reconnects in the background with
 * jittered, capped exponential backoff; a failed `start()` does the same. While it is not `ready`, every
 * operation fails at once with UPSTREAM_UNAVAILABLE (never hangs), and listings serve the last loaded
 * catalog. `close()` ends the child process or session and stops reconnecting.
 *
 * Catalog. Tools, resources, resource templates and prompts are listed (all pages) and cached; tool
 * schemas are compiled once per load. `notifications/*\/list_changed` re-lists that part and then tells
 * `onChange` listeners; after a reconnect, the parts that differ are reported the same way.
 *
 * Eras. The connector speaks both protocol eras to its upstream. On the first connect it negotiates the
 * highest era the upstream supports: a `server/discover` probe selects 2026-07-28 (stateless: no session,
 * every request carries its own `_meta` envelope), and anything else falls back to the 2025 `initialize`
 * handshake. The probe runs on the connection itself, so a stdio upstream is spawned once. The verdict is
 * remembered: reconnects reuse it without probing again, until a connect with it fails.
 *
 * Input the calling agent must give. A 2025 upstream asks with server-to-client requests (sampling,
 * elicitation, roots); a 2026-07-28 upstream answers a call with an `input_required` result instead, and
 * the connector relays each of its `inputRequests` and retries the call with the answers and the upstream's
 * `requestState`. Either way the question goes to the call's own `inputRequests` channel, whatever era the
 * agent speaks; the edge turns it into what the agent understands.
 *
 * Routing what the upstream sends outside a response (see in-flight.ts): a request or log message belongs to
 * the call whose exchange carried it, else to the single call in flight. A request with no owning call is
 * refused with a JSON-RPC error; a log message with none is a connector-level log (`deps.onUpstreamLog`).
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  type CallToolResult,
  type McpSubscription,
  type PriorDiscovery,
  type ProtocolEra,
  type RequestOptions,
  type ServerCapabilities,
  type SubscriptionFilter,
} from '@modelcontextprotocol/client';
import {
  isJsonObject,
  type CatalogChange,
  type ContentBlock,
  type Connector,
  type ConnectorContext,
  type FederatedCatalog,
  type FetchLike,
  type JsonObject,
  type LogMessage,
  type PreparedCall,
  type ProgressUpdate,
  type ToolResult,
} from '../contract.js';
import { DictionaryMap } from '../call-registries.js';
import { ConnectorError } from '../errors.js';
import { copyJsonValue, NotJsonError } from '../json-copy.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import {
  changedParts,
  EMPTY_SNAPSHOT,
  loadCatalog,
  loadPrompts,
  loadResources,
  loadTools,
  type CatalogSnapshot,
  type CompiledTool,
} from './catalog.js';
import { McpConnectorConfigSchema, type McpConnectorConfigInput } from './config.js';
import { isSessionLost, toConnectorError, type UpstreamOperation } from './error-mapping.js';
import { boundCall, currentCallScope, outsideCallScope, runInCallScope } from './call-scope.js';
import { createInFlight } from './in-flight.js';
import { completeInputRounds, DEFAULT_MAX_INPUT_ROUNDS, type InputRound } from './input-rounds.js';
import { paramHeaderDeclarations, paramHeaders } from './param-headers.js';
import type { EarlyStdioChild } from './stdio-child.js';
import { createUpstreamTransport, type UpstreamTransport } from './transport.js';
import { UpstreamClient } from './upstream-client.js';

export interface McpConnectorDeps {
  /**
   * Used by the HTTP transport for requests not made for a call (initialize, listings, the event stream);
   * a call's requests use the call's `ctx.fetch`. The gateway passes its egress-guarded fetch.
   */
  fetch?: FetchLike;
  /** Cap on one message from the upstream, in bytes (default 10 MiB); larger ones are RESPONSE_TOO_LARGE. */
  maxMessageBytes?: number;
  /** The connector's own warnings; also upstream log messages tied to no call when `onUpstreamLog` is absent. */
  onLog?: (message: LogMessage) => void;
  /**
   * Connector-level log messages: what the upstream logs outside any call (while no call runs, or when the
   * message cannot be tied to one call). The gateway delivers them to the agents that asked for logs.
   */
  onUpstreamLog?: (message: LogMessage) => void;
  /** `notifications/resources/updated` for a subscribed resource. */
  onResourceUpdated?: (uri: string) => void;
  /**
   * A stdio connector's child, started ahead of the connector (stdio-child.ts): its first connection adopts
   * it when it is still running and was started as this connector would start it. Stopped by `close()`
   * if no connection took it.
   */
  earlyChild?: EarlyStdioChild;
}

export type McpConnectorState = 'connecting' | 'ready' | 'restarting' | 'closed';

export interface McpConnectorStatus {
  state: McpConnectorState;
  /** Reconnect attempts made so far (the first connect is not one). */
  restarts: number;
  /** The protocol era negotiated with the upstream (remembered across reconnects), once known. */
  era?: ProtocolEra;
  /** The protocol revision spoken on the current connection. */
  protocolVersion?: string;
}

export type McpConnector = Connector & {
  readonly kind: 'mcp';
  readonly catalog: Required<FederatedCatalog>;
  onChange(listener: (change: CatalogChange) => void): () => void;
  /** Connect and load the catalog. On failure, reconnecting continues in the background. */
  start(): Promise<void>;
  status(): McpConnectorStatus;
};

/** HTTP upstreams have no restart config; they reconnect with the stdio defaults, without a limit. */
const HTTP_RECONNECT: BackoffOptions & { maxRestarts?: number } = { initialDelayMs: 200, maxDelayMs: 30_000 };
const CLIENT_INFO = { name: 'portcullis', version: '0.1.0' };
const LOGGER = 'portcullis.mcp-connector';
/** How long `close()` waits for an HTTP upstream to acknowledge the end of the session. */
const TERMINATE_TIMEOUT_MS = 2000;
const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
/**
 * The SDK's own request timeout, set past the connector's deadline: the connector ends a call itself (and
 * aborts its exchange), so the SDK timer is only a backstop.
 */
const SDK_TIMEOUT_SLACK_MS = 5000;

interface Session {
  generation: number;
  client: UpstreamClient;
  transport: UpstreamTransport;
  /** 2026-07-28 connections: the `subscriptions/listen` stream carrying list changes and resource updates. */
  listen?: McpSubscription;
  /** Initialized and catalog loaded. */
  ready: boolean;
  /** list_changed notifications that arrived before the session was ready. */
  staleParts: Set<CatalogChange>;
}

const unavailable = (message: string): ConnectorError => new ConnectorError('UPSTREAM_UNAVAILABLE', message);

/** The era probe failed because the connection closed under it (the SDK's negotiation error says so). */
function diedOnProbe(error: unknown): boolean {
  return (
    error instanceof SdkError &&
    error.code === SdkErrorCode.EraNegotiationFailed &&
    /closed during the server\/discover probe/.test(error.message)
  );
}

const CLIENT_CAPABILITIES = { sampling: {}, elicitation: { form: {} }, roots: { listChanged: false } };

/** The connector's input capabilities, narrowed to those the agent declared (with the agent's own detail). */
function agentInputCapabilities(agent: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(CLIENT_CAPABILITIES)) {
    const declared = agent[key];
    if (isJsonObject(declared)) out[key] = declared;
  }
  return out;
}

/**
 * A signal that follows `parent` but aborts with a fixed reason, so nothing of the gateway's reason goes
 * upstream; `abort(reason)` ends it for the connector's own reasons (deadline, refused response).
 */
function followSignal(parent: AbortSignal): {
  signal: AbortSignal;
  abort: (reason: string) => void;
  dispose: () => void;
} {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort('cancelled by the client');
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => {
      if (!controller.signal.aborted) controller.abort(reason);
    },
    dispose: () => parent.removeEventListener('abort', onAbort),
  };
}

function toToolResult(result: CallToolResult): ToolResult {
  const out: ToolResult = { content: result.content as ContentBlock[] };
  // 2026-07-28 allows any JSON value here; the gateway's result shape carries objects (as 2025 requires).
  if (isJsonObject(result.structuredContent)) out.structuredContent = result.structuredContent;
  if (result.isError !== undefined) out.isError = result.isError;
  if (result._meta !== undefined) out._meta = result._meta as JsonObject;
  return out;
}

export function createMcpConnector(input: McpConnectorConfigInput, deps: McpConnectorDeps = {}): McpConnector {
  const config = McpConnectorConfigSchema.parse(input);
  const policy = config.transport === 'stdio' ? config.restart : HTTP_RECONNECT;
  const timeoutMs = config.requestTimeoutMs;
  const limits = { timeoutMs, maxMessageBytes: deps.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES };
  const inFlight = createInFlight();
  const listeners = new Set<(change: CatalogChange) => void>();
  /**
   * Resource subscriptions with how many subscribers hold each (the upstream connection is shared by all
   * agents): subscribed upstream once, unsubscribed when the last holder leaves, renewed after a reconnect.
   */
  const subscriptions = new Map<string, number>();
  const refreshChains = new Map<CatalogChange, Promise<void>>();

  let snapshot: CatalogSnapshot | undefined;
  let session: Session | undefined;
  /** The era verdict of the last successful connect, reused to reconnect without probing. */
  let era: PriorDiscovery | undefined;
  let generation = 0;
  let state: McpConnectorState = 'connecting';
  let restarts = 0;
  /** Offered to the first connection only (see McpConnectorDeps.earlyChild). */
  let earlyChild: EarlyStdioChild | undefined = deps.earlyChild;
  let attempt = 0;
  let readyAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;
  let started: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const warn = (message: string): void => {
    deps.onLog?.({ level: 'warning', logger: LOGGER, data: { connector: config.id, message } });
  };

  const emit = (change: CatalogChange): void => {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the others still hear about the change.
      }
    }
  };

  // --- server-to-client traffic -------------------------------------------------------------------

  /** The call a message belongs to: the one whose exchange carried it, else the single call in flight. */
  const owner = (): ConnectorContext | undefined => inFlight.owner(currentCallScope()?.call);

  async function relay(method: string, params: unknown, upstreamSignal: AbortSignal): Promise<JsonObject> {
    const ctx = owner();
    if (ctx?.inputRequests === undefined) {
      const why =
        inFlight.size() === 0
          ? 'no call is in flight'
          : ctx === undefined
            ? 'several calls are in flight and the request names none of them'
            : 'the calling agent cannot take it';
      throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `${method} refused by the gateway: ${why}`);
    }
    const signal = AbortSignal.any([upstreamSignal, ctx.signal]);
    return ctx.inputRequests.request(method, isJsonObject(params) ? params : {}, signal);
  }

  function routeLog(params: { level: LogMessage['level']; logger?: string | undefined; data?: unknown }): void {
    const message: LogMessage = { level: params.level, data: params.data };
    if (params.logger !== undefined) message.logger = params.logger;
    const ctx = owner();
    if (ctx?.onLog !== undefined) ctx.onLog(message);
    else if (ctx === undefined) (deps.onUpstreamLog ?? deps.onLog)?.(message);
  }

  function createClient(gen: number): UpstreamClient {
    const client = new UpstreamClient(CLIENT_INFO, {
      capabilities: CLIENT_CAPABILITIES,
      // Probe for 2026-07-28 and fall back to the 2025 handshake (skipped when the era is remembered).
      versionNegotiation: { mode: 'auto', probe: { timeoutMs } },
      // input_required results come back to the connector, which relays them per call (see callTool).
      inputRequired: { autoFulfill: false },
    });
    // The SDK validates the relayed answers against the protocol schemas before they go upstream.
    client.setRequestHandler(
      'sampling/createMessage',
      async (request, extra) => (await relay(request.method, request.params, extra.mcpReq.signal)) as never,
    );
    client.setRequestHandler(
      'elicitation/create',
      async (request, extra) => (await relay(request.method, request.params, extra.mcpReq.signal)) as never,
    );
    client.setRequestHandler(
      'roots/list',
      async (request, extra) => (await relay(request.method, request.params, extra.mcpReq.signal)) as never,
    );
    client.setNotificationHandler('notifications/message', (notification) => routeLog(notification.params));
    // Progress is routed by the connector's own tokens (see callTool), replacing the SDK's per-request
    // handler, which is dropped as soon as the result arrives and so loses a final notification that
    // arrives in the same read as the result.
    client.setNotificationHandler('notifications/progress', (notification) => {
      const { progressToken, progress, total, message } = notification.params;
      progressListeners.get(progressToken)?.({
        progress,
        ...(total === undefined ? {} : { total }),
        ...(message === undefined ? {} : { message }),
      });
    });
    client.setNotificationHandler('notifications/tools/list_changed', () => refresh(gen, 'tools'));
    client.setNotificationHandler('notifications/resources/list_changed', () => refresh(gen, 'resources'));
    client.setNotificationHandler('notifications/prompts/list_changed', () => refresh(gen, 'prompts'));
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      if (subscriptions.has(notification.params.uri)) deps.onResourceUpdated?.(notification.params.uri);
    });
    client.onclose = () => lost(gen);
    client.onerror = (error) => {
      if (isSessionLost(error)) lost(gen);
    };
    return client;
  }

  /**
   * On a 2026-07-28 connection changes are only sent on a `subscriptions/listen` stream: (re)open it with
   * what the connector wants to hear about now (list changes the upstream offers, subscribed resources).
   */
  async function syncListen(current: Session): Promise<void> {
    if (current.client.getProtocolEra() !== 'modern') return;
    const caps = current.client.getServerCapabilities() ?? {};
    const filter: SubscriptionFilter = {};
    if (caps.tools?.listChanged === true) filter.toolsListChanged = true;
    if (caps.prompts?.listChanged === true) filter.promptsListChanged = true;
    if (caps.resources?.listChanged === true) filter.resourcesListChanged = true;
    if (caps.resources?.subscribe === true && subscriptions.size > 0)
      filter.resourceSubscriptions = [...subscriptions.keys()];
    const previous = current.listen;
    delete current.listen;
    await previous?.close().catch(() => undefined);
    if (Object.keys(filter).length === 0 || session !== current) return;
    await outsideCallScope(async () => {
      try {
        const opened = await current.client.listen(filter, { timeout: timeoutMs });
        if (session === current && current.listen === undefined) current.listen = opened;
        else await opened.close().catch(() => undefined);
      } catch (error) {
        if (isSessionLost(error)) lost(current.generation);
        warn(`opening the upstream's change stream failed (${toConnectorError(error, 'subscribe').code})`);
      }
    });
  }

  // --- catalog refresh ----------------------------------------------------------------------------

  /** Re-list every part from the upstream now (no-op while disconnected: a reconnect re-lists anyway). */
  async function reload(): Promise<void> {
    const current = session;
    if (current === undefined || !current.ready) return;
    for (const part of ['tools', 'resources', 'prompts'] as const) refresh(current.generation, part);
    await Promise.all([...refreshChains.values()]);
  }

  function refresh(gen: number, part: CatalogChange): void {
    // list_changed may arrive on a call's response stream; re-listing is not that call's work.
    outsideCallScope(() => refreshPart(gen, part));
  }

  function refreshPart(gen: number, part: CatalogChange): void {
    const current = session;
    if (current === undefined || current.generation !== gen) return;
    if (!current.ready) {
      current.staleParts.add(part);
      return;
    }
    // One refresh per part at a time, in arrival order, so an older listing never overwrites a newer one.
    const previous = refreshChains.get(part) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (session !== current || snapshot === undefined) return;
      const options = { timeoutMs, onWarning: warn };
      try {
        if (part === 'tools') {
          const tools = await loadTools(current.client, options);
          if (session !== current || snapshot === undefined) return;
          snapshot = { ...snapshot, tools };
        } else if (part === 'resources') {
          const listed = await loadResources(current.client, options);
          if (session !== current || snapshot === undefined) return;
          snapshot = { ...snapshot, ...listed };
        } else {
          const prompts = await loadPrompts(current.client, options);
          if (session !== current || snapshot === undefined) return;
          snapshot = { ...snapshot, prompts };
        }
      } catch (error) {
        if (isSessionLost(error)) lost(gen);
        warn(
          `re-listing ${part} after list_changed failed; keeping the previous list (${toConnectorError(error, 'list').code})`,
        );
        return;
      }
      emit(part);
    });
    refreshChains.set(part, next);
  }

  // --- connection lifecycle -----------------------------------------------------------------------

  function lost(gen: number): void {
    const dead = session;
    if (state === 'closed' || dead === undefined || dead.generation !== gen) return;
    session = undefined;
    if (dead.ready && Date.now() - readyAt >= policy.maxDelayMs) attempt = 0; // it was stable: start backoff afresh
    state = 'restarting';
    void dead.listen?.close().catch(() => undefined);
    void dead.client.close().catch(() => undefined);
    scheduleRestart();
  }

  function scheduleRestart(): void {
    if (state === 'closed' || restartTimer !== undefined || connecting !== undefined || session !== undefined) return;
    if (policy.maxRestarts !== undefined && restarts >= policy.maxRestarts) {
      state = 'closed';
      warn(`giving up after ${restarts} restarts`);
      return;
    }
    state = 'restarting';
    const delay = backoffDelay(attempt, policy);
    attempt += 1;
    // A reconnect is the connector's own work, even when a failing call's context scheduled it.
    restartTimer = setTimeout(
      () =>
        outsideCallScope(() => {
          restartTimer = undefined;
          restarts += 1;
          beginConnect().catch(() => undefined);
        }),
      delay,
    );
    // The timer alone must not keep the process alive; close() clears it.
    restartTimer.unref();
  }

  function beginConnect(): Promise<void> {
    const run = connectOnce().finally(() => {
      connecting = undefined;
    });
    connecting = run;
    run.catch(() => scheduleRestart());
    return run;
  }

  async function connectOnce(): Promise<void> {
    generation += 1;
    const gen = generation;
    const client = createClient(gen);
    const transport = createUpstreamTransport(config, deps.fetch, limits, earlyChild);
    earlyChild = undefined; // the first connection's only
    const current: Session = { generation: gen, client, transport, ready: false, staleParts: new Set() };
    session = current;
    const stillCurrent = (): void => {
      if (session !== current || state === 'closed')
        throw unavailable('the upstream MCP connection closed while connecting');
    };
    const prior = era;
    try {
      await client.connect(transport, { timeout: timeoutMs, ...(prior === undefined ? {} : { prior }) });
      stillCurrent();
      const discover = client.getDiscoverResult();
      era =
        client.getProtocolEra() === 'modern' && discover !== undefined
          ? { kind: 'modern', discover }
          : { kind: 'legacy' };
      const next = await loadCatalog(client, { timeoutMs, onWarning: warn });
      stillCurrent();
      if (client.getProtocolEra() === 'modern') {
        await syncListen(current);
      } else {
        for (const uri of subscriptions.keys()) {
          await client
            .request({ method: 'resources/subscribe', params: { uri } }, { timeout: timeoutMs })
            .catch(() => warn('renewing a resource subscription after reconnecting failed'));
        }
      }
      stillCurrent();
      const previous = snapshot ?? EMPTY_SNAPSHOT;
      snapshot = next;
      current.ready = true;
      state = 'ready';
      readyAt = Date.now();
      for (const change of changedParts(previous, next)) emit(change);
      for (const part of current.staleParts) refresh(gen, part);
      current.staleParts.clear();
    } catch (error) {
      if (session === current) session = undefined;
      // A remembered verdict that no longer connects is forgotten: the next attempt negotiates afresh.
      if (prior !== undefined) era = undefined;
      // A stdio server that exits on the probe (some servers end on any request before `initialize`) is a
      // 2025 server: the next attempt skips the probe instead of failing on it forever.
      else if (config.transport === 'stdio' && diedOnProbe(error)) era = { kind: 'legacy' };
      await current.listen?.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      throw toConnectorError(error, 'connect');
    }
  }

  function readySession(): Session {
    const current = session;
    if (state === 'closed') throw unavailable('the connector is closed');
    if (current === undefined || !current.ready)
      throw unavailable(`the upstream MCP server is not connected (${state})`);
    return current;
  }

  function loadedSnapshot(): CatalogSnapshot {
    if (snapshot === undefined) throw unavailable(`the upstream MCP server's catalog is not loaded (${state})`);
    return snapshot;
  }

  function requireCapability(current: Session, has: (caps: ServerCapabilities) => unknown, what: string): void {
    const caps = current.client.getServerCapabilities();
    if (caps === undefined || !has(caps))
      throw new ConnectorError('NOT_SUPPORTED', `the upstream MCP server does not offer ${what}`);
  }

  /**
   * Run one request against the ready session, registered as in flight when it carries a call context,
   * with the caller's cancellation and the configured timeout; errors come out as ConnectorErrors.
   */
  async function upstream<T>(
    operation: UpstreamOperation,
    ctx: ConnectorContext,
    send: (client: UpstreamClient, options: RequestOptions, meta: JsonObject | undefined) => Promise<T>,
    precheck?: (current: Session) => void,
  ): Promise<T> {
    if (ctx.signal.aborted) throw new ConnectorError('CANCELLED', 'the call was cancelled');
    const current = readySession();
    precheck?.(current);
    const meta: JsonObject = { ...ctx.meta };
    // The progress token is the connector's to set (when ctx.onProgress asks for progress), never the caller's.
    delete meta.progressToken;
    // An agent that takes the upstream's input rounds itself answers them with its own client: a 2026-07-28
    // upstream is told that client's capabilities, so it asks only for what the agent can answer.
    const rounds = ctx.inputRequests?.rounds;
    if (rounds !== undefined && current.client.getProtocolEra() === 'modern')
      meta[CLIENT_CAPABILITIES_META_KEY] = agentInputCapabilities(rounds.capabilities);
    const cancel = followSignal(ctx.signal);
    // The call's own deadline and failure path, enforced here rather than by the SDK: when either fires,
    // the request is cancelled upstream, its HTTP exchange aborted, and the caller gets the reason at once.
    const bounds = boundCall(ctx, timeoutMs, (error) =>
      cancel.abort(error.code === 'UPSTREAM_TIMEOUT' ? 'timed out' : 'response refused by the client'),
    );
    try {
      return await inFlight.track(ctx, () =>
        runInCallScope(bounds.scope, () =>
          Promise.race([
            send(
              current.client,
              { signal: cancel.signal, timeout: timeoutMs + SDK_TIMEOUT_SLACK_MS },
              Object.keys(meta).length > 0 ? meta : undefined,
            ),
            bounds.failed,
          ]),
        ),
      );
    } catch (error) {
      const failure = bounds.failure();
      if (failure !== undefined && !ctx.signal.aborted) throw failure;
      if (isSessionLost(error)) lost(current.generation);
      throw toConnectorError(error, operation, ctx.signal);
    } finally {
      // Whatever ended the call, its exchange is over: an answer still streaming in is dropped with it.
      bounds.end();
      cancel.dispose();
    }
  }

  // --- tools --------------------------------------------------------------------------------------

  function validateArgs(compiled: CompiledTool, tool: string, args: JsonObject): void {
    const violations = compiled.validateInput(args);
    if (violations.length > 0) {
      throw new ConnectorError('INVALID_ARGUMENTS', `arguments do not match the input schema of "${tool}"`, {
        violations,
      });
    }
  }

  function checkOutput(compiled: CompiledTool, result: CallToolResult): void {
    if (result.isError === true || compiled.validateOutput === undefined) return;
    if (result.structuredContent === undefined) {
      throw new ConnectorError(
        'UPSTREAM_ERROR',
        'the upstream tool declares an output schema but returned no structured content',
      );
    }
    const violations = compiled.validateOutput(result.structuredContent);
    if (violations.length > 0) {
      throw new ConnectorError(
        'UPSTREAM_ERROR',
        "the upstream tool's structured content does not match its output schema",
        { violations },
      );
    }
  }

  // By progress token, for the calls that asked for progress: not a Map, since an entry comes and goes with
  // each such call on the shared connection (see call-registries.ts).
  const progressListeners = new DictionaryMap<string | number, (update: ProgressUpdate) => void>();
  let progressCounter = 0;

  async function prepareCall(tool: string, args: JsonObject): Promise<PreparedCall> {
    const compiled = loadedSnapshot().tools.byName.get(tool);
    if (compiled === undefined) throw new ConnectorError('TOOL_NOT_FOUND', `unknown tool "${tool}"`);
    if (!isJsonObject(args)) throw new ConnectorError('INVALID_ARGUMENTS', 'arguments must be an object');
    let copy: JsonObject;
    try {
      // A private copy: what is validated here is exactly what callTool sends, whatever the caller does later.
      copy = copyJsonValue(args) as JsonObject;
    } catch (error) {
      if (!(error instanceof NotJsonError)) throw error;
      throw new ConnectorError('INVALID_ARGUMENTS', 'arguments must be plain JSON values', {
        violations: [{ path: error.path, message: error.reason }],
      });
    }
    validateArgs(compiled, tool, copy);
    return { tool, args: copy, internal: compiled };
  }

  async function callTool(call: PreparedCall, ctx: ConnectorContext): Promise<ToolResult> {
    const compiled = loadedSnapshot().tools.byName.get(call.tool);
    if (compiled === undefined) throw new ConnectorError('TOOL_NOT_FOUND', `unknown tool "${call.tool}"`);
    // The catalog changed since prepareCall: the arguments must still match the tool as it is now.
    if (compiled !== call.internal) validateArgs(compiled, call.tool, call.args);
    return upstream('call', ctx, async (client, options, meta) => {
      const onProgress = ctx.onProgress;
      const token = onProgress === undefined ? undefined : `portcullis-${++progressCounter}`;
      const callMeta = token === undefined ? meta : { ...(meta ?? {}), progressToken: token };
      const params = { name: call.tool, arguments: call.args, ...(callMeta === undefined ? {} : { _meta: callMeta }) };
      if (token !== undefined && onProgress !== undefined) progressListeners.set(token, onProgress);
      try {
        // A 2026-07-28 upstream over HTTP checks the Mcp-Param headers its tool declares against the body.
        const declarations =
          client.getProtocolEra() === 'modern' ? paramHeaderDeclarations(compiled.descriptor.inputSchema) : [];
        const headers = declarations.length > 0 ? paramHeaders(declarations, call.args) : undefined;
        const requestOptions = { ...multiRound(options), ...(headers !== undefined ? { headers } : {}) };
        const result = (await withInputRounds(ctx, (round) =>
          client.requestSpec({ method: 'tools/call', params: { ...params, ...round } }, requestOptions),
        )) as CallToolResult;
        checkOutput(compiled, result);
        return toToolResult(result);
      } finally {
        // Notifications read together with the result are dispatched after it: let them run first.
        if (token !== undefined) setImmediate(() => progressListeners.delete(token));
      }
    });
  }

  /** Request options for a method a 2026-07-28 upstream may answer with `input_required`. */
  const multiRound = (options: RequestOptions): RequestOptions => ({ ...options, allowInputRequired: true });

  /** Send a request until it completes, relaying a 2026-07-28 upstream's questions to the calling agent. */
  function withInputRounds(ctx: ConnectorContext, send: (round: InputRound) => Promise<unknown>): Promise<JsonObject> {
    return completeInputRounds({
      send,
      channel: ctx.inputRequests,
      signal: ctx.signal,
      maxRounds: DEFAULT_MAX_INPUT_ROUNDS,
    });
  }

  // --- federated catalog --------------------------------------------------------------------------

  const catalog: Required<FederatedCatalog> = {
    async listResources() {
      return loadedSnapshot().resources;
    },
    async listResourceTemplates() {
      return loadedSnapshot().templates;
    },
    async listPrompts() {
      return loadedSnapshot().prompts;
    },
    async readResource(uri, ctx) {
      return upstream(
        'read',
        ctx,
        (client, options, meta) =>
          withInputRounds(ctx, (round) =>
            client.requestSpec(
              { method: 'resources/read', params: { uri, ...(meta === undefined ? {} : { _meta: meta }), ...round } },
              multiRound(options),
            ),
          ),
        (current) => requireCapability(current, (caps) => caps.resources, 'resources'),
      );
    },
    async getPrompt(name, args, ctx) {
      if (!loadedSnapshot().prompts.some((p) => p.name === name))
        throw new ConnectorError('PROMPT_NOT_FOUND', `unknown prompt "${name}"`);
      return upstream('prompt', ctx, (client, options, meta) =>
        withInputRounds(ctx, (round) =>
          client.requestSpec(
            {
              method: 'prompts/get',
              params: { name, arguments: { ...args }, ...(meta === undefined ? {} : { _meta: meta }), ...round },
            },
            multiRound(options),
          ),
        ),
      );
    },
    async complete(params, ctx) {
      return upstream(
        'complete',
        ctx,
        (client, options) => client.requestSpec({ method: 'completion/complete', params }, options),
        (current) => requireCapability(current, (caps) => caps.completions, 'completions'),
      ) as Promise<JsonObject>;
    },
    async subscribeResource(uri, ctx) {
      const holders = subscriptions.get(uri) ?? 0;
      if (holders === 0) {
        let modern: Session | undefined;
        await upstream(
          'subscribe',
          ctx,
          async (client, options) => {
            // 2026-07-28 has no resources/subscribe: the URI joins the filter of the change stream.
            if (modern !== undefined) return;
            await client.request({ method: 'resources/subscribe', params: { uri } }, options);
          },
          (current) => {
            requireCapability(current, (caps) => caps.resources?.subscribe, 'resource subscriptions');
            if (current.client.getProtocolEra() === 'modern') modern = current;
          },
        );
        subscriptions.set(uri, (subscriptions.get(uri) ?? 0) + 1);
        if (modern !== undefined) await syncListen(modern);
        return;
      }
      subscriptions.set(uri, holders + 1);
    },
    async unsubscribeResource(uri, ctx) {
      const holders = subscriptions.get(uri) ?? 0;
      if (holders === 0) return;
      if (holders > 1) {
        // Another subscriber still wants updates for this URI.
        subscriptions.set(uri, holders - 1);
        return;
      }
      subscriptions.delete(uri);
      // While disconnected there is nothing to tell the upstream: a new session starts without it.
      const current = session;
      if (current?.ready !== true) return;
      if (current.client.getProtocolEra() === 'modern') {
        await syncListen(current);
        return;
      }
      await upstream('subscribe', ctx, async (client, options) => {
        await client.request({ method: 'resources/unsubscribe', params: { uri } }, options);
      });
    },
  };

  // --- the connector ------------------------------------------------------------------------------

  async function close(): Promise<void> {
    closing ??= (async () => {
      state = 'closed';
      // A child started ahead that no connection took yet: stopped before close() resolves.
      const early = earlyChild?.close();
      earlyChild = undefined;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      listeners.clear();
      const current = session;
      session = undefined;
      if (current !== undefined) {
        if (current.ready && current.transport.terminateSession !== undefined) {
          // Tell an HTTP upstream the session is over; bounded, since a hung upstream must not hang shutdown.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            current.transport.terminateSession().catch(() => undefined),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, TERMINATE_TIMEOUT_MS);
              timer.unref();
            }),
          ]);
          clearTimeout(timer);
        }
        await current.listen?.close().catch(() => undefined);
        // For stdio this ends the child: stdin closed, then SIGTERM, then SIGKILL.
        await current.client.close().catch(() => undefined);
      }
      await connecting?.catch(() => undefined);
      await early;
    })();
    return closing;
  }

  return {
    id: config.id,
    kind: 'mcp',
    reload,
    catalog,
    start() {
      if (state === 'closed') return Promise.reject(unavailable('the connector is closed'));
      started ??= beginConnect();
      return started;
    },
    status: () => {
      const version = session?.ready === true ? session.client.getNegotiatedProtocolVersion() : undefined;
      return {
        state,
        restarts,
        ...(era === undefined ? {} : { era: era.kind }),
        ...(version === undefined ? {} : { protocolVersion: version }),
      };
    },
    async listTools() {
      return loadedSnapshot().tools.descriptors;
    },
    prepareCall,
    callTool,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close,
  };
}
