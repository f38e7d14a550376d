/**
 * The MCP front door over Streamable HTTP: `POST|GET|DELETE /mcp`, for both protocol eras. A request that
 * names a session (`Mcp-Session-Id`) is 2025-era: that era alone has sessions. Any other is 2025-era unless it
 * carries the 2026-07-28 per-request `_meta` envelope (the SDK's `isLegacyRequest`, the same classification
 * its own handler uses; era.ts). 2025-era requests are served by this module's sessions, and
 * 2026-07-28 requests statelessly by modern-edge.ts, after the same Host/Origin check, authentication and
 * size limit. The SDK's stateless fallback for 2025 traffic is never used.
 *
 * Order of checks on every request: Host/Origin (DNS-rebinding defence), authentication (fail closed, 401
 * with WWW-Authenticate), size limit, session lookup, then the session's protocol version. A session id is
 * bound to the principal that created it (see `samePrincipal`); presenting it with any other credential is
 * answered exactly like an unknown session (404), so session ids are not an oracle. Sessions idle longer
 * than the configured time are closed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate } from 'node:timers/promises';
import express, { type Router } from 'express';
import {
  isInitializeRequest,
  WebStandardStreamableHTTPServerTransport,
  type ServerEventBus,
} from '@modelcontextprotocol/server';
import type { RequestAuthenticator } from '../../services/auth/index.js';
import { AuthError, httpStatusOf, isStoreUnavailable, jsonRpcCodeOf, type Principal } from '../../kernel/index.js';
import type { AuditSink } from '../../services/audit/index.js';
import type { SessionTask } from '../../services/tasks/index.js';
import { timeOperations, type McpOperationMetrics } from './operation-metrics.js';
import { createGatewayMcpServer, type McpServerDeps } from './server.js';
import { jsonRpcError, readJsonBody, sendJson, sendMcpError } from '../http/index.js';
import { extractTraceparentFromMeta } from '../../services/telemetry/index.js';
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { samePrincipal, sessionScope, type McpSession } from './session.js';
import { batchAllowed, negotiatedVersion, versionHeaderConflict, watchProtocolVersion } from './protocol-version.js';
import { InFlightRequestIds } from './request-ids.js';
import { createMemorySessionSlots, type SessionSlot, type SessionSlots } from '../../services/ratelimit/index.js';
import { createInputBridge, type OnceClaimsLike } from './input-bridge.js';
import { createModernEdge } from './modern-edge.js';
import { isLegacyPost } from './era.js';
import { createApprovalTasks, type ApprovalTasksOptions } from './approval-tasks.js';
import { createModernTasks } from './modern-task.js';
import { createStateSealer } from './sealed-state.js';
import { sessionTaskTrace } from './task-trace.js';
import { answerWhenReadyAsJson } from './session-answers.js';
import { createSessionRequests } from './session-requests.js';
import type { InstanceMessages } from '../../services/instances/index.js';
import { createInputRelay } from './input-relay.js';
import { createSharedEventBus } from './shared-event-bus.js';
import { sendFetchResponse, toFetchRequest, type ResponseMode } from './web-exchange.js';

export interface McpHttpEdgeOptions extends McpServerDeps {
  authenticator: RequestAuthenticator;
  audit: AuditSink;
  responseMode: ResponseMode;
  maxRequestBytes: number;
  sessionIdleSeconds: number;
  maxSessionsPerAgent: number;
  /** Where session slots are counted (shared stores: across instances); default in this process. */
  sessionSlots?: SessionSlots;
  /** Value for WWW-Authenticate challenges, e.g. `Bearer realm="portcullis"`. */
  challenge: (error?: AuthError) => string;
  /** Task for a new session: explicit from the credential, or an implicit one per session. */
  taskForSession: (principal: Principal, sessionId: string) => Promise<SessionTask>;
  /** Counts authentication failures (by the scheme presented). */
  onAuthFailure?: (code: string) => void;
  /**
   * A request was refused because the state store could not answer (503 STORE_UNAVAILABLE): for logs and
   * metrics. The refusal itself is audited here.
   */
  onStoreUnavailable?: (operation: 'authenticate' | 'session', error: unknown) => void;
  /**
   * Called when a session ends (implicit task ends with it). What it returns is awaited before an agent's
   * `DELETE` is answered, so the session's task has ended by the time the agent hears the session is gone.
   */
  onSessionClosed?: (session: McpSession) => void | Promise<void>;
  /**
   * An initialize that never opened its session (the transport refused it, or it failed): what was set up
   * for it has been taken down; the caller forgets its task (ended when it was the session's implicit one).
   */
  onSessionAbandoned?: (session: McpSession) => void;
  /** Receives `mcp.server.operation.duration` for every request on every session. */
  operationMetrics?: McpOperationMetrics;
  /**
   * 2026-07-28 requests: the key that seals request states and task handles (at least 32 bytes; the same
   * on every instance), the shared single-use claims, and how long a call waits for an agent's input.
   * Without a key, a random per-process key is used (one instance only).
   */
  stateSealingKey?: Uint8Array;
  onceClaims?: OnceClaimsLike;
  inputHoldSeconds?: number;
  /**
   * Implicit tasks of 2026-07-28 requests without a task token or handle: started, continued by a request
   * that echoes the handle, and the longest one can live (how long a handle stays valid).
   */
  requestTasks: {
    start(principal: Principal, key: string, parent?: Context): Promise<SessionTask>;
    continue(taskId: string): Promise<SessionTask>;
    lifetimeSeconds: number;
  };
  /** Change events for 2026-07-28 `subscriptions/listen` streams (default: see `instanceMessages`). */
  eventBus?: ServerEventBus;
  /**
   * Messages between the instances sharing the stores (Redis stores): with them, `subscriptions/listen`
   * streams hear the changes every instance sees, and an `input_required` retry is relayed to the instance
   * holding its call. Without them, both stay within this process.
   */
  instanceMessages?: InstanceMessages;
  /**
   * Approvals as tasks for 2026-07-28 agents that negotiate the Tasks extension: where task records are
   * kept (the gateway's state store), the approval queue and the grants. Without it, the extension is
   * neither advertised nor served.
   */
  tasksExtension?: Omit<ApprovalTasksOptions, 'now'>;
  /** Out-of-band errors of the 2026-07-28 handler, for the logs. */
  onModernError?: (error: Error) => void;
  /** A request that failed with a fault of the gateway (answered 500), for the logs. */
  onRequestError?: (error: unknown) => void;
  now?: () => number;
}

export interface McpHttpEdge {
  /** `GET` and `DELETE /mcp` (session streams and session ends). */
  router: Router;
  /**
   * `POST /mcp`, on the plain Node request and response: the hot path, served without Express (the caller
   * has checked Host and Origin). Answers every failure itself; never rejects.
   */
  post(req: IncomingMessage, res: ServerResponse): Promise<void>;
  sessions(): readonly McpSession[];
  close(): Promise<void>;
}

export function createMcpHttpEdge(options: McpHttpEdgeOptions): McpHttpEdge {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, McpSession>();
  const inFlight = new WeakMap<McpSession, InFlightRequestIds>();
  const slots = options.sessionSlots ?? createMemorySessionSlots(options.maxSessionsPerAgent);
  const slotOf = new WeakMap<McpSession, SessionSlot>();
  /** Slots whose session finished opening; the session's close gives them back. */
  const registered = new WeakSet<SessionSlot>();
  const router = express.Router();
  const sealer = createStateSealer(options.stateSealingKey ?? randomBytes(32), now);
  const messages = options.instanceMessages;
  const relay =
    messages !== undefined
      ? createInputRelay({
          messages,
          ...(options.onModernError !== undefined ? { onError: options.onModernError } : {}),
        })
      : undefined;
  const sharedBus =
    options.eventBus === undefined && messages !== undefined
      ? createSharedEventBus(messages, options.onModernError)
      : undefined;
  const bus = options.eventBus ?? sharedBus;
  const modern = createModernEdge({
    ...options,
    tasks: createModernTasks({
      sealer,
      taskFor: (principal, taskId) => options.taskForSession(principal, taskId),
      startTask: options.requestTasks.start,
      continueTask: options.requestTasks.continue,
      handleTtlSeconds: options.requestTasks.lifetimeSeconds,
      now,
    }),
    bridge: createInputBridge({
      sealer,
      claims: options.onceClaims ?? createLocalClaims(now),
      holdSeconds: options.inputHoldSeconds ?? 300,
      ...(relay !== undefined ? { relay } : {}),
      now,
    }),
    ...(bus !== undefined ? { bus } : {}),
    ...(options.tasksExtension !== undefined
      ? { approvalTasks: createApprovalTasks({ ...options.tasksExtension, now }) }
      : {}),
    ...(options.onModernError !== undefined ? { onError: options.onModernError } : {}),
  });

  const sweep = setInterval(
    () => {
      const cutoff = now() - options.sessionIdleSeconds * 1000;
      for (const session of sessions.values()) {
        if (session.lastActivity < cutoff) void closeSession(session);
      }
    },
    Math.min(60_000, options.sessionIdleSeconds * 500),
  );
  sweep.unref();

  async function closeSession(session: McpSession): Promise<void> {
    if (!sessions.delete(session.id)) return;
    slotOf.get(session)?.release();
    await takeDown(session, 'session closed');
    await options.onSessionClosed?.(session);
  }

  /** Close a session's transport and server (which unsubscribes it from gateway events) and end its task span. */
  async function takeDown(session: McpSession, reason: string): Promise<void> {
    session.requests?.closeAll();
    await session.transport?.close().catch(() => undefined);
    await session.server?.close().catch(() => undefined);
    session.endTask?.(reason);
  }

  const authenticate = async (req: IncomingMessage, res: ServerResponse): Promise<Principal | undefined> => {
    try {
      return await options.authenticator.authenticate({
        headers: req.headers,
        url: req.url ?? '/',
        rawHeaders: req.rawHeaders,
      });
    } catch (error) {
      if (isStoreUnavailable(error)) {
        refuseStoreUnavailable(res, 'authenticate', error, { event: 'auth.failure' });
        return undefined;
      }
      const authError =
        error instanceof AuthError ? error : new AuthError('UNAUTHENTICATED', 'authentication failed', 'invalid_token');
      const status = authError.code === 'UNAUTHENTICATED' ? 401 : 403;
      sendJson(res, status, jsonRpcError(-32001, authError.message, authError.code), {
        'WWW-Authenticate': options.challenge(authError),
      });
      options.onAuthFailure?.(authError.code);
      void options.audit
        .append({ event: 'auth.failure', decision: 'deny', code: authError.code, reason: authError.message })
        .catch(() => undefined);
      return undefined;
    }
  };

  /** An outage is answered as one: 503 with Retry-After, never as "disabled", "ended" or "unauthorised". */
  function refuseStoreUnavailable(
    res: ServerResponse,
    operation: 'authenticate' | 'session',
    error: unknown,
    record: { event: 'auth.failure' | 'session.open'; agentId?: string },
  ): void {
    options.onStoreUnavailable?.(operation, error);
    sendJson(res, 503, jsonRpcError(-32000, 'The state store is unavailable; try again shortly', 'STORE_UNAVAILABLE'), {
      'Retry-After': '5',
    });
    void options.audit
      .append({ ...record, decision: 'error', code: 'STORE_UNAVAILABLE', reason: 'state store unavailable' })
      .catch(() => undefined);
  }

  const findSession = (req: IncomingMessage, principal: Principal): McpSession | undefined => {
    const id = headerOf(req, 'mcp-session-id');
    if (id === undefined) return undefined;
    const session = sessions.get(id);
    if (session === undefined || !samePrincipal(session.principal, principal)) return undefined;
    // Same principal, possibly a fresher credential: its roles, scopes and expiry govern from now on.
    session.principal = principal;
    session.lastActivity = now();
    return session;
  };

  async function servePost(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await authenticate(req, res);
    if (principal === undefined) return;
    try {
      const body = await readJsonBody(req, options.maxRequestBytes);
      const drain = options.drain;
      if (drain !== undefined && hasRequest(body)) {
        // Shutting down: new work is refused with a response the agent can act on; answers to the
        // gateway's own requests (elicitation for a call in flight) and notifications still pass.
        if (drain.draining) {
          refuseShuttingDown(res, body);
          return;
        }
        res.once('close', drain.track());
      }
      // Calls under way go first: this request's work (classifying, deciding, sealing its write-ahead record)
      // starts in the event loop's check phase, once the I/O already in hand has been handled: finished audit
      // writes and upstream answers that calls under way wait for (docs/benchmarks.md, "What changed").
      await setImmediate();
      // One web-standard request per exchange, served by either era's handler. A request that names a
      // session is held to it: sessions exist only in the 2025 era, so its body is not classified (a
      // 2026-07-28 envelope under a session id is not a 2026-07-28 request); any other is classified by
      // the SDK's own rule.
      const sessionId = headerOf(req, 'mcp-session-id');
      const fetchRequest = toFetchRequest(req, res, { followAgent: sessionId === undefined });
      if (sessionId === undefined && !(await isLegacyPost(fetchRequest, body))) {
        await modern.serve(req, res, { principal, body, fetchRequest });
        return;
      }
      if (sessionId !== undefined) {
        const session = findSession(req, principal);
        if (session?.transport === undefined) {
          sendJson(res, 404, jsonRpcError(-32001, 'Session not found'));
          return;
        }
        if (!versionAccepted(req, res, session)) return;
        if (Array.isArray(body) && (containsInitialize(body) || !batchAllowed(body, session.protocolVersion))) {
          refuseBatch(res);
          return;
        }
        let ids = inFlight.get(session);
        if (ids === undefined) inFlight.set(session, (ids = new InFlightRequestIds()));
        const claim = ids.claim(body, res);
        if (claim !== undefined) {
          sendJson(res, 400, {
            jsonrpc: '2.0',
            id: claim.duplicate,
            error: {
              code: -32600,
              message: 'Invalid Request: a request with this id is already in flight in this session',
            },
          });
          return;
        }
        const { requests } = session;
        const direct = requests?.directRequest(headerOf(req, 'accept'), body);
        if (requests !== undefined && direct !== undefined) await requests.serve(direct, fetchRequest, res);
        else await serveOnSession(session, fetchRequest, res, body);
        return;
      }
      if (Array.isArray(body)) {
        refuseBatch(res);
        return;
      }
      if (!containsInitialize(body)) {
        sendJson(res, 400, jsonRpcError(-32000, 'Bad Request: no session id; send initialize first'));
        return;
      }
      await openSession(principal, body, req, res, fetchRequest);
    } catch (error) {
      if (isStoreUnavailable(error) && !res.headersSent) {
        refuseStoreUnavailable(res, 'session', error, { event: 'session.open', agentId: principal.agentId });
        return;
      }
      sendMcpError(res, error, options.onRequestError);
    }
  }

  async function openSession(
    principal: Principal,
    body: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    fetchRequest: globalThis.Request,
  ): Promise<void> {
    const slot = await slots.take(principal.agentId);
    if (slot === undefined) {
      sendJson(
        res,
        429,
        jsonRpcError(
          -32000,
          'Too many open sessions for this agent; close one (DELETE /mcp) or wait for idle ones to expire',
        ),
        { 'Retry-After': '60' },
      );
      return;
    }
    try {
      await openSessionInSlot(principal, body, req, res, slot, fetchRequest);
    } finally {
      // Opening failed, or the initialize was refused: the session never registered, so its slot is free.
      if (!registered.has(slot)) slot.release();
    }
  }

  async function openSessionInSlot(
    principal: Principal,
    body: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    slot: SessionSlot,
    fetchRequest: globalThis.Request,
  ): Promise<void> {
    const id = randomUUID();
    // The calls' parent: the task's own span, or one of the session's, parented on the trace the agent
    // sent with initialize, if any.
    const initMeta = (body as { params?: { _meta?: unknown } }).params?._meta;
    const taskTrace = sessionTaskTrace(
      await options.taskForSession(principal, id),
      principal.agentId,
      extractTraceparentFromMeta(initMeta, ROOT_CONTEXT),
    );
    const session: McpSession = {
      id,
      principal,
      task: taskTrace.facts,
      protocolVersion: negotiatedVersion((body as { params?: { protocolVersion?: unknown } }).params?.protocolVersion),
      logLevel: 'info',
      subscriptions: new Set(),
      lastActivity: now(),
      connection: { transport: 'tcp', protocolName: 'http', networkProtocolVersion: req.httpVersion },
      openedAt: performance.now(),
      traceContext: taskTrace.traceContext,
      endTask: (reason) => taskTrace.end(reason),
    };
    let opened = false;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      enableJsonResponse: options.responseMode === 'json',
      onsessioninitialized: () => {
        opened = true;
        slotOf.set(session, slot);
        registered.add(slot);
        sessions.set(id, session);
        void options.audit
          .append({ event: 'session.open', agentId: principal.agentId, taskId: session.task.id, sessionId: id })
          .catch(() => undefined);
      },
      // The SDK answers a DELETE only once this has settled: the session, and its implicit task, are closed
      // before the agent is told so (an operator's approval sent right after finds the task ended).
      onsessionclosed: () => closeSession(session),
    });
    if (options.responseMode === 'auto') {
      answerWhenReadyAsJson(transport);
      session.requests = createSessionRequests(transport, { sessionId: id });
    }
    transport.onclose = () => void closeSession(session);
    watchProtocolVersion(transport, (version) => (session.connection.protocolVersion = version));
    if (options.operationMetrics !== undefined) timeOperations(transport, session.connection, options.operationMetrics);
    const server = createGatewayMcpServer(sessionScope(session, true), options);
    session.server = server;
    session.transport = transport;
    session.requests?.deliverTo(server);
    try {
      await server.connect(transport);
      await serveOnSession(session, fetchRequest, res, body);
    } finally {
      // An initialize the transport refused (a wrong Accept header, say) never registers its session: what
      // was set up for it goes with the request, and the caller forgets its task. Left alone, each such
      // request kept its server subscribed to catalog changes, resource updates and connector logs for good.
      if (!opened) {
        await takeDown(session, 'session not opened');
        options.onSessionAbandoned?.(session);
      }
    }
  }

  /** One exchange on a session's transport (the SDK's web-standard one), written back to the agent. */
  async function serveOnSession(
    session: McpSession,
    fetchRequest: globalThis.Request,
    res: ServerResponse,
    body?: unknown,
  ): Promise<void> {
    const transport = session.transport as WebStandardStreamableHTTPServerTransport;
    const response = await transport.handleRequest(fetchRequest, body !== undefined ? { parsedBody: body } : {});
    await sendFetchResponse(response, res);
  }

  const streamOrDelete = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const principal = await authenticate(req, res);
    if (principal === undefined) return;
    const session = findSession(req, principal);
    if (session?.transport === undefined) {
      sendJson(
        res,
        headerOf(req, 'mcp-session-id') === undefined ? 400 : 404,
        jsonRpcError(-32001, 'Session not found'),
      );
      return;
    }
    if (!versionAccepted(req, res, session)) return;
    await serveOnSession(session, toFetchRequest(req, res, { followAgent: false }), res);
    if (req.method === 'DELETE') await closeSession(session);
  };
  // The listener serves the usual form of `POST /mcp` itself (edges/server/http-server.ts); any other form
  // Express routes here, after the app's Host/Origin check.
  router.post('/mcp', (req, res) => void post(req, res));
  router.get('/mcp', (req, res, next) => void streamOrDelete(req, res).catch(next));
  router.delete('/mcp', (req, res, next) => void streamOrDelete(req, res).catch(next));

  function post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return servePost(req, res).catch((error: unknown) => sendMcpError(res, error, options.onRequestError));
  }

  return {
    router,
    post,
    sessions: () => [...sessions.values()],
    async close() {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map(closeSession));
      await slots.close();
      await modern.close();
      relay?.close();
      sharedBus?.close();
    },
  };
}

/** Whether a POST body holds a JSON-RPC request (method and id), not only notifications or responses. */
function hasRequest(body: unknown): boolean {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.some(
    (m) => typeof m === 'object' && m !== null && 'method' in m && 'id' in m && (m as { id: unknown }).id !== null,
  );
}

function refuseShuttingDown(res: ServerResponse, body: unknown): void {
  const first = (Array.isArray(body) ? body : [body]).find(
    (m): m is { id: string | number } => typeof m === 'object' && m !== null && 'method' in m && 'id' in m,
  );
  sendJson(
    res,
    httpStatusOf('SHUTTING_DOWN'),
    {
      jsonrpc: '2.0',
      id: first?.id ?? null,
      error: {
        code: jsonRpcCodeOf('SHUTTING_DOWN'),
        message: 'The gateway is shutting down; retry on another instance',
        data: { code: 'SHUTTING_DOWN' },
      },
    },
    { 'Retry-After': '1' },
  );
}

/** A request on a session must speak the session's negotiated version; 400 otherwise. */
function versionAccepted(req: IncomingMessage, res: ServerResponse, session: McpSession): boolean {
  const conflict = versionHeaderConflict(headerOf(req, 'mcp-protocol-version'), session.protocolVersion ?? '');
  if (conflict === undefined) return true;
  sendJson(res, 400, jsonRpcError(-32600, conflict));
  return false;
}

function refuseBatch(res: ServerResponse): void {
  sendJson(
    res,
    400,
    jsonRpcError(
      -32600,
      'Invalid Request: JSON-RPC batches are not accepted (initialize alone; none from protocol 2025-06-18)',
    ),
  );
}

/** A request header's value (repeated headers as Node joins them), as Express's `req.header` gives it. */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function containsInitialize(body: unknown): boolean {
  if (Array.isArray(body)) return body.some((m) => isInitializeRequest(m));
  return isInitializeRequest(body);
}

/** Single-use claims for one process, when no shared store is given. */
function createLocalClaims(now: () => number): OnceClaimsLike {
  const claimed = new Map<string, number>();
  return {
    async claim(id, ttlMs) {
      const at = now();
      for (const [key, until] of claimed) if (until <= at) claimed.delete(key);
      if (claimed.has(id)) return false;
      claimed.set(id, at + ttlMs);
      return true;
    },
  };
}
