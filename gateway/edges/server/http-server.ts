/**
 * Everything the gateway serves over HTTP, on one Express app: the MCP endpoint (`/mcp`), the tasks API,
 * the JWKS and OAuth protected-resource metadata, token introspection for backends, `/metrics`, and the
 * operator API and console; the MCP endpoint's POSTs, every tool call's way in, skip Express (see
 * `mcpPostFirst`). Agents authenticate through the configured authenticator chain.
 */
import express, { type Express, type Router } from 'express';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { FetchLike, LogMessage } from '../../../connectors/contract.js';
import type { Environment, GatewayConfig } from '../../config/index.js';
import { resolveSecretRef } from '../../config/index.js';
import { VERSION, type Drain, type Logger, type Principal } from '../../kernel/index.js';
import type { EgressProvider, Pipeline } from '../../pipeline/index.js';
import { appendBestEffort, type AuditSink } from '../../services/audit/index.js';
import {
  buildAuthenticators,
  createRequestAuthenticator,
  digestApiKey,
  operatorsFrom,
  protectedResourceMetadata,
  resourceMetadataUrl,
  wwwAuthenticate,
  type ApiKeyAgent,
} from '../../services/auth/index.js';
import { createOwnTokenVerifier, type CredentialIssuer, type KeySet } from '../../services/credentials/index.js';
import { preloadEgressClient } from '../../services/egress/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import type { SessionSlots } from '../../services/ratelimit/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import type { SessionTasks, TaskService, TaskStore } from '../../services/tasks/index.js';
import {
  createApp,
  createIntrospectionRouter,
  createMetricsRouter,
  createTasksRouter,
  hostOriginCheck,
  hostOriginGuard,
  hostOriginRefusalBody,
  sendCode,
  sendJson,
} from '../http/index.js';
import type { InstanceMessages } from '../../services/instances/index.js';
import { connectionMetricAttributes, createMcpHttpEdge, type McpSession } from '../mcp/index.js';
import { createOperatorAuthenticator, createOperatorRouters, type OperatorRoutersOptions } from '../operator/index.js';
import type { Catalog } from '../../services/catalog/index.js';
import type { PolicyStore } from '../../services/policy/index.js';
import type { ApprovalTaskStore } from '../../services/approvals/index.js';
import { closeServer, listenOn } from './listen.js';
import type { ReadinessReport } from '../../services/health/index.js';

export interface HttpServerParts {
  config: GatewayConfig;
  /** The gateway's public URL (resource of the MCP endpoint). */
  publicUrl: string;
  env: Environment;
  baseDir: string;
  logger: Logger;
  audit: AuditSink;
  metrics: Metrics;
  pipeline: Pipeline;
  egress: EgressProvider;
  /** The fetch OAuth JWKS documents are read with (the gateway's egress, in its own scope). */
  jwksFetch?: FetchLike;
  resourceUpdates: { subscribe(listener: (uri: string) => void): () => void };
  /**
   * Connector-level log messages (what an upstream logs outside any call), for the MCP edge to deliver to
   * the sessions that set a log level and can see that connector.
   */
  connectorLogs?: { subscribe(listener: (connectorId: string, message: LogMessage) => void): () => void };
  sessionTasks: SessionTasks;
  taskService: TaskService;
  issuer: CredentialIssuer;
  keys: KeySet;
  revocation: RevocationStore;
  /** Task tokens are refused when their task belongs to another agent. */
  tasks: Pick<TaskStore, 'get'>;
  apiKeyAgents: readonly ApiKeyAgent[];
  /** Shown on /healthz: ok while the policy is the last good one. */
  policy: Pick<PolicyStore, 'status'>;
  catalog: Catalog;
  /** Per-agent session caps (shared across instances with Redis stores). */
  sessionSlots?: SessionSlots;
  /** Shutdown: new MCP requests are refused while draining; calls in flight are tracked and cancelled through it. */
  drain?: Drain;
  stores: {
    kind: string;
    onceClaims?: { claim(id: string, ttlMs: number): Promise<boolean> };
    /** Messages between the instances sharing the stores (Redis stores). */
    channels?: InstanceMessages;
    /** Approval tasks of 2026-07-28 agents that negotiate the Tasks extension. */
    approvalTasks?: ApprovalTaskStore;
  };
  /** Seals request states and task handles of 2026-07-28 agents (the same on every instance). */
  stateSealingKey?: Uint8Array;
  /** `/readyz`, and `/healthz` ok only when ready. */
  readiness: () => ReadinessReport;
  /** What the operator API serves (see edges/operator/routers.ts). */
  operator: Omit<
    OperatorRoutersOptions,
    'config' | 'operatorAuth' | 'audit' | 'metrics' | 'catalog' | 'issuer' | 'revocation'
  >;
}

export interface HttpServer {
  /** Every route but the MCP endpoint's POSTs in the plain form agents send them. */
  app: Express;
  /** What the listener runs for each request: `POST /mcp` straight to the MCP edge, the rest through `app`. */
  listener: RequestListener;
  /** `http://host:port/metrics` of the separate metrics listener, when `metrics.listen` is configured. */
  metricsUrl?: string;
  close(): Promise<void>;
}

export async function createHttpServer(parts: HttpServerParts): Promise<HttpServer> {
  const { config, logger } = parts;
  const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
  const resource = `${parts.publicUrl.replace(/\/$/, '')}/mcp`;
  const authenticator = createRequestAuthenticator({
    authenticators: await buildAuthenticators({
      config,
      resource,
      issuer: parts.issuer.issuer,
      keys: parts.keys,
      revocation: parts.revocation,
      tasks: parts.tasks,
      apiKeyAgents: parts.apiKeyAgents,
      ...(parts.jwksFetch !== undefined ? { jwksFetch: parts.jwksFetch } : {}),
    }),
    isAgentDisabled: (agentId) => parts.revocation.isAgentDisabled(agentId),
  });
  const oauth = config.auth.oauth;
  const metadataConfig = {
    resource,
    authorizationServers: oauth !== undefined ? [oauth.issuer] : [],
    scopesSupported: oauth?.requiredScopes ?? [],
  };
  const edge = createMcpHttpEdge({
    pipeline: parts.pipeline,
    egress: parts.egress,
    audit: parts.audit,
    serverInfo: { name: 'portcullis', version: VERSION },
    resourceUpdates: parts.resourceUpdates,
    ...(parts.connectorLogs !== undefined ? { connectorLogs: parts.connectorLogs } : {}),
    elevationTool: config.approvals.offerRequestTool,
    authenticator,
    responseMode: config.http.responseMode,
    maxRequestBytes: config.http.maxRequestBytes,
    sessionIdleSeconds: config.http.sessionIdleSeconds,
    maxSessionsPerAgent: config.http.maxSessionsPerAgent,
    ...(parts.sessionSlots !== undefined ? { sessionSlots: parts.sessionSlots } : {}),
    ...(parts.drain !== undefined ? { drain: parts.drain } : {}),
    challenge: (error) =>
      oauth !== undefined
        ? wwwAuthenticate(metadataConfig, error?.bearerError !== undefined ? error : undefined)
        : `Bearer realm="portcullis"${error?.bearerError !== undefined ? `, error="${error.bearerError}", error_description="${error.message.replace(/"/g, "'")}"` : ''}`,
    taskForSession: (principal: Principal, sessionId: string) =>
      parts.sessionTasks.taskForSession(principal, sessionId),
    requestTasks: {
      start: parts.sessionTasks.startRequestTask,
      continue: parts.sessionTasks.continueRequestTask,
      lifetimeSeconds: parts.config.limits.sessionTaskTtlSeconds,
    },
    ...(parts.stateSealingKey !== undefined ? { stateSealingKey: parts.stateSealingKey } : {}),
    ...(parts.stores.onceClaims !== undefined ? { onceClaims: parts.stores.onceClaims } : {}),
    ...(parts.stores.channels !== undefined ? { instanceMessages: parts.stores.channels } : {}),
    ...(parts.stores.approvalTasks !== undefined
      ? {
          tasksExtension: {
            store: parts.stores.approvalTasks,
            queue: parts.operator.queue,
            grants: parts.operator.grants,
            onError: (error: unknown) => logger.error({ err: errorText(error) }, 'approval task failed'),
          },
        }
      : {}),
    onModernError: (error) => logger.debug({ err: errorText(error) }, 'MCP 2026-07-28 request refused or failed'),
    onRequestError: (error) => logger.error({ err: errorText(error) }, 'request failed'),
    onAuthFailure: (code) => parts.metrics.authFailure(code),
    operationMetrics: parts.metrics,
    onStoreUnavailable: (operation, error) => {
      parts.metrics.storeUnavailable(operation);
      logger.warn({ operation, err: errorText(error) }, 'state store unavailable; request refused');
    },
    onSessionAbandoned: (session: McpSession) => {
      void parts.sessionTasks.sessionClosed(session.task.id);
    },
    onSessionClosed: async (session: McpSession) => {
      parts.metrics.observeMcpSession(
        connectionMetricAttributes(session.connection),
        (performance.now() - session.openedAt) / 1000,
      );
      // Best effort as before (a task the store could not end ends by its expiry), but awaited: see http-edge.ts.
      const taskEnded = parts.sessionTasks.sessionClosed(session.task.id).catch(() => undefined);
      void appendBestEffort(parts.audit, {
        event: 'session.close',
        agentId: session.principal.agentId,
        taskId: session.task.id,
        sessionId: session.id,
      });
      await taskEnded;
    },
  });

  const operatorAuth = createOperatorAuthenticator({
    operators: await operatorsFrom(config, { env: parts.env, baseDir: parts.baseDir }),
  });
  const operatorRouters = createOperatorRouters({
    ...parts.operator,
    ...{ config, operatorAuth, audit: parts.audit, metrics: parts.metrics, catalog: parts.catalog },
    ...{ issuer: parts.issuer, revocation: parts.revocation },
    onInternalError: (error) => logger.error({ err: errorText(error) }, 'operator request failed'),
  });
  const secrets = { env: parts.env, baseDir: parts.baseDir };
  const metricsToken = config.metrics.token;
  const metricsRouter = createMetricsRouter({
    handler: parts.metrics.handler,
    ...(metricsToken !== undefined
      ? {
          tokenSha256:
            'sha256' in metricsToken
              ? metricsToken.sha256
              : digestApiKey((await resolveSecretRef(metricsToken.secret, secrets)).reveal()),
        }
      : {}),
  });
  // With `metrics.listen`, /metrics is served there only (the gateway's listener answers 404).
  const metricsListen = config.metrics.listen;
  const routers: Router[] = [...(metricsListen === undefined ? [metricsRouter] : []), ...operatorRouters];
  const wellKnown = express.Router();
  wellKnown.get('/.well-known/jwks.json', (_req, res) => {
    res.set('cache-control', 'public, max-age=300').json(parts.issuer.jwks());
  });
  if (oauth !== undefined) {
    const metadataPath = new URL(resourceMetadataUrl(resource)).pathname;
    wellKnown.get(metadataPath, (_req, res) => void res.json(protectedResourceMetadata(metadataConfig)));
  }
  routers.push(wellKnown);
  routers.push(
    createTasksRouter(parts.taskService, (req) =>
      authenticator.authenticate({ headers: req.headers, url: req.originalUrl, rawHeaders: req.rawHeaders }),
    ),
  );
  if (config.auth.introspectionClients.length > 0) {
    routers.push(
      createIntrospectionRouter({
        verifyOwnToken: createOwnTokenVerifier({ issuer: parts.issuer.issuer, keys: parts.keys }),
        revocation: parts.revocation,
        clients: await Promise.all(
          config.auth.introspectionClients.map(async (c) => ({
            id: c.id,
            ...(c.audiences !== undefined ? { audiences: c.audiences } : {}),
            secretSha256:
              'sha256' in c.secret
                ? c.secret.sha256
                : digestApiKey((await resolveSecretRef(c.secret.secret, secrets)).reveal()),
          })),
        ),
      }),
    );
  }

  const hostOrigin = {
    listenHost: config.listen.host,
    allowedHosts: config.http.allowedHosts,
    allowedOrigins: config.http.allowedOrigins,
  };
  const app = createApp({
    hostOrigin,
    mcpRouter: edge.router,
    health: () => {
      const policy = parts.policy.status();
      const ready = parts.readiness();
      return {
        ok: policy.lastError === undefined && ready.ready,
        ...(ready.reason !== undefined ? { reason: ready.reason } : {}),
        ...{ version: VERSION, policy, stores: parts.stores.kind, catalogWarnings: parts.catalog.warnings().length },
        sessions: edge.sessions().length,
      };
    },
    authorizeHealthDetails: (req) => void operatorAuth.authenticate(req),
    readiness: parts.readiness,
    routers,
    onError: (error) => logger.error({ err: errorText(error) }, 'request failed'),
  });
  // Last, so that nothing after it can fail and leave the listener open.
  const metricsServer =
    metricsListen !== undefined
      ? await startMetricsListener(
          metricsListen,
          config.http.allowedHosts,
          config.http.requestTimeoutSeconds,
          metricsRouter,
        )
      : undefined;
  // The caller attaches the listener as soon as this returns, and the gateway serves: the backends' HTTP
  // client, left out of the start, is loaded right after, so the first backend request finds it.
  setImmediate(preloadEgressClient);
  return {
    app,
    listener: mcpPostFirst(app, hostOriginCheck(hostOrigin), edge.post),
    ...(metricsServer !== undefined ? { metricsUrl: `${metricsServer.baseUrl}/metrics` } : {}),
    close: async () => {
      await edge.close();
      if (metricsServer !== undefined) await closeServer(metricsServer.server);
    },
  };
}

/**
 * `POST /mcp` is every tool call's way in: it is served on the plain Node request and response, after the
 * same Host/Origin check the app runs first, without Express's routing and request decoration. Only the
 * plain form (`/mcp`, any case, an optional trailing slash and query, as Express matches it) takes this
 * path; any other form of the target still reaches the MCP edge through the app's router.
 */
function mcpPostFirst(
  app: Express,
  hostOriginRefusal: ReturnType<typeof hostOriginCheck>,
  post: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): RequestListener {
  return (req, res) => {
    if (req.method !== 'POST' || !MCP_PATH.test(req.url ?? '')) {
      app(req, res);
      return;
    }
    const refusal = hostOriginRefusal(req.headers);
    if (refusal !== undefined) {
      req.resume();
      sendJson(res, 403, hostOriginRefusalBody(refusal));
      return;
    }
    void post(req, res);
  };
}

const MCP_PATH = /^\/mcp\/?(?:\?|$)/i;

/** The separate `/metrics` listener (`metrics.listen`), with the same Host/Origin checks as the gateway's. */
async function startMetricsListener(
  address: { host: string; port: number },
  allowedHosts: readonly string[],
  requestTimeoutSeconds: number,
  router: Router,
): Promise<{ server: Server; baseUrl: string }> {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(hostOriginGuard({ listenHost: address.host, allowedHosts, allowedOrigins: [] }));
  app.use(router);
  app.use((_req, res) => sendCode(res, 'NOT_FOUND', 'not found'));
  const { server, baseUrl, attach } = await listenOn(address.host, address.port, { requestTimeoutSeconds });
  attach(app);
  return { server, baseUrl };
}
