/**
 * The composition root: the one place that reads the environment and starts the OpenTelemetry SDK, builds
 * every long-lived resource from the parsed configuration, wires them together, and closes them in reverse
 * order.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer, type Server as HttpServer } from 'node:http';
import express, { type Router } from 'express';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Connector, JsonObject } from '../connectors/contract.js';
import { createHttpConnector } from '../connectors/http/index.js';
import { createMcpConnector } from '../connectors/mcp/index.js';
import {
  digestApiKey,
  type ApiKeyAgent,
  createRequestAuthenticator,
  protectedResourceMetadata,
  resourceMetadataUrl,
  wwwAuthenticate,
  buildAuthenticators,
} from './services/auth/index.js';
import { type Principal, createLogger, type Logger } from './kernel/index.js';
import { createJsonlAuditSink, createMemoryAuditSink, type AuditSink, redactDetail } from './services/audit/index.js';
import {
  type LoadedConfig,
  type GatewayConfig,
  resolveSecretRef,
  type Environment,
  assertStateOutsidePackages,
} from './config/index.js';
import { createEgressGuard } from './services/egress/index.js';
import {
  createApp,
  createTasksRouter,
  createIntrospectionRouter,
  createMetricsRouter,
  hostOriginGuard,
} from './edges/http/index.js';
import { createToolIntegrity } from './services/integrity/index.js';
import { createMcpHttpEdge, createGatewayMcpServer, type McpSession } from './edges/mcp/index.js';
import { createMetrics, type Metrics } from './services/metrics/index.js';
import {
  createConsoleRouter,
  createOperatorAuthenticator,
  type OperatorAuthenticator,
  createToolsRouter,
  credentialsRouter,
  createAgentsRouter,
  createApprovalsRouter,
} from './edges/operator/index.js';
import {
  baselineRules,
  catalogContextFor,
  createPipeline,
  type EgressProvider,
  type Pipeline,
} from './pipeline/index.js';
import { createCatalog, type Catalog } from './services/catalog/index.js';
import {
  withOutboundHygiene,
  createBackendCredentials,
  contextualInjector,
  createCredentialIssuer,
  type CredentialIssuer,
  loadKeySet,
  openDevKeySet,
  type KeySet,
  createOwnTokenVerifier,
} from './services/credentials/index.js';
import { createPolicyStore } from './services/policy/index.js';
import { openStores, type Stores, openApprovals } from './stores/index.js';
import { isOwner, traceLink } from './services/approvals/index.js';
import { startTaskSpan, startTelemetry } from './services/telemetry/index.js';
import { isTaskLive, createTaskService, type TaskService } from './services/tasks/index.js';
import type { TaskFacts } from '../policies/types.js';

export const VERSION = '0.1.0';

export interface StartOptions {
  loaded: LoadedConfig;
  /** The gateway's own URL (issuer of its tokens); defaults to `http.publicUrl`, else the listen address. */
  baseUrl?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: Environment;
  logger?: Logger;
}

export interface RunningGateway {
  /** `http://host:port` */
  baseUrl: string;
  /** `http://host:port/mcp` */
  mcpUrl: string;
  /** `http://host:port/metrics` of the separate metrics listener, when `metrics.listen` is configured. */
  metricsUrl?: string;
  pipeline: Pipeline;
  catalog: Catalog;
  audit: AuditSink;
  stores: Stores;
  close(): Promise<void>;
}

interface Core {
  config: GatewayConfig;
  logger: Logger;
  audit: AuditSink;
  metrics: Metrics;
  stores: Stores;
  pipeline: Pipeline;
  catalog: Catalog;
  egress: EgressProvider;
  operatorAuth: OperatorAuthenticator;
  operatorRouters: Router[];
  health: () => Record<string, unknown> & { ok: boolean };
  authenticatorAgents: ApiKeyAgent[];
  issuer: CredentialIssuer;
  keys: KeySet;
  taskService: TaskService;
  /** Task facts for a new MCP session: the token's task, or a new implicit task. */
  taskForSession: (principal: Principal, sessionId: string) => Promise<TaskFacts>;
  endImplicitTask: (taskId: string) => Promise<void>;
  resourceUpdates: { subscribe(listener: (uri: string) => void): () => void };
  closers: (() => Promise<void>)[];
}

/** Build everything except the listeners (shared by the HTTP and stdio front doors). */
async function buildCore(options: StartOptions): Promise<Core> {
  const { config, baseDir } = options.loaded;
  assertStateOutsidePackages(options.loaded);
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ level: env['PORTCULLIS_LOG_LEVEL'] ?? 'info' });
  const closers: (() => Promise<void>)[] = [];
  try {
    if (config.telemetry.enabled) {
      // Telemetry may fail open: an unreachable collector never affects calls (batch export, dropped spans).
      const telemetry = startTelemetry({
        serviceName: config.telemetry.serviceName,
        ...(config.telemetry.otlpEndpoint !== undefined ? { otlpEndpoint: config.telemetry.otlpEndpoint } : {}),
        sampleRatio: config.telemetry.sampleRatio,
        env,
      });
      closers.push(() => telemetry.shutdown());
    }
    const metrics = createMetrics();

    if (config.audit.file !== undefined) await mkdir(path.dirname(config.audit.file), { recursive: true });
    const audit =
      config.audit.file !== undefined
        ? await createJsonlAuditSink({
            file: config.audit.file,
            durability: config.audit.durability,
            checkpointFile: `${config.audit.file}.checkpoint.json`,
          })
        : createMemoryAuditSink();
    closers.push(() => audit.close());

    const stores = await openStores(config.stores, { env, baseDir });
    closers.push(() => stores.close());

    const issuerUrl = options.baseUrl ?? config.http.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`;
    const keys =
      config.credentials.signingKey !== undefined
        ? await loadKeySet({
            active: await resolveSecretRef(config.credentials.signingKey, { env, baseDir }),
            previous: await Promise.all(
              config.credentials.previousKeys.map(async (k) => ({
                material: await resolveSecretRef(k.key, { env, baseDir }),
                retiresAt: Date.parse(k.retiresAt),
              })),
            ),
            alg: config.credentials.algorithm,
          })
        : await openDevKeySet({ dir: config.credentials.devKeyDir, alg: config.credentials.algorithm });
    const issuer = createCredentialIssuer({
      issuer: issuerUrl,
      keys,
      callTtlSeconds: config.credentials.callTtlSeconds,
      elevatedTtlSeconds: config.credentials.elevatedTtlSeconds,
    });
    const { queue, grants, notifier } = openApprovals(config, stores, audit, metrics, logger);
    if (notifier !== undefined) closers.push(() => notifier.close());
    closers.push(() => queue.close());
    const taskService = createTaskService({
      store: stores.tasks,
      revocation: stores.revocation,
      issuer,
      audit,
      maxTtlSeconds: config.tasks.maxTtlSeconds,
      defaultTtlSeconds: config.tasks.defaultTtlSeconds,
      onEnded: (taskId) => grants.endTask(taskId),
    });
    const taskExpiry = new Map<string, number>();
    const backendCredentials = await createBackendCredentials({
      config: config.backendCredentials,
      issuer,
      env,
      baseDir,
      audit,
      metrics,
      tasksExpiry: async (taskId) => taskExpiry.get(taskId) ?? (await stores.tasks.get(taskId))?.expiresAt,
      isJtiRevoked: (jti) => stores.revocation.isJtiRevoked(jti),
    });

    const policy = await createPolicyStore({
      files: config.policy.files,
      shadowFiles: config.policy.shadow,
      extraRules: () => baselineRules(config),
      watch: config.policy.watch,
      logger,
      onShadowDecision: (enforced, shadow, _facts, info) => {
        // Shadow policy: logged and counted next to the enforced decision, never enforced.
        if (enforced.effect === shadow.effect) return;
        logger.info(
          {
            kind: info.kind,
            enforced: enforced.effect,
            shadow: shadow.effect,
            shadowRules: shadow.rules,
            shadowVersion: info.shadowVersion,
          },
          'shadow policy would decide differently',
        );
        void audit
          .append({
            event: 'policy.shadow',
            decision: shadow.effect,
            detail: { kind: info.kind, enforced: enforced.effect, wouldBe: shadow.effect, rules: [...shadow.rules] },
          })
          .catch(() => undefined);
      },
      onReload: (result: unknown) => {
        const ok = (result as { ok?: boolean } | undefined)?.ok !== false;
        metrics.policyReload(ok ? 'ok' : 'error');
        void audit.append({ event: 'policy.reload', decision: ok ? 'allow' : 'error' }).catch(() => undefined);
      },
    });
    closers.push(async () => policy.close());

    const guard = createEgressGuard({
      decide: (facts) => policy.current().evaluateEgress(facts),
      maxRedirects: config.egress.maxRedirects,
      maxResponseBytes: config.egress.maxResponseBytes,
      timeoutMs: config.egress.timeoutMs,
    });
    closers.push(() => guard.close());
    // Upstream MCP servers over HTTP keep event streams open: same address rules, no whole-exchange deadline.
    const streamGuard = createEgressGuard({
      decide: (facts) => policy.current().evaluateEgress(facts),
      maxRedirects: config.egress.maxRedirects,
      maxResponseBytes: Number.MAX_SAFE_INTEGER,
      timeoutMs: 7 * 24 * 3600 * 1000,
    });
    closers.push(() => streamGuard.close());
    const egress: EgressProvider = { fetchFor: (scope) => guard.fetchFor(scope) };

    const resourceUpdates = new EventEmitter();
    resourceUpdates.setMaxListeners(0);
    const connectors: Connector[] = [];
    closers.push(async () => {
      await Promise.all(connectors.map((c) => c.close().catch(() => undefined)));
    });
    for (const connectorConfig of config.connectors) {
      if (connectorConfig.kind === 'http') {
        connectors.push(
          await createHttpConnector(connectorConfig, {
            baseDir,
            onWarning: (message) => logger.warn({ connector: connectorConfig.id }, message),
          }),
        );
        continue;
      }
      const connector = createMcpConnector(
        connectorConfig.transport === 'stdio' && connectorConfig.cwd === undefined
          ? { ...connectorConfig, cwd: baseDir }
          : connectorConfig,
        {
          // One long-lived connection for every agent: each call's credential comes from its async context.
          fetch: withOutboundHygiene(
            streamGuard.fetchFor({ connector: connectorConfig.id }),
            contextualInjector(backendCredentials.staticInjector(connectorConfig.id)),
          ),
          onLog: (message) =>
            logger.debug({ connector: connectorConfig.id, level: message.level }, 'upstream log message'),
          onResourceUpdated: (uri) => resourceUpdates.emit('updated', uri),
        },
      );
      connectors.push(connector);
      // A connector that cannot start keeps restarting in the background; the gateway still serves the rest.
      await connector
        .start()
        .catch((error: unknown) =>
          logger.warn({ connector: connectorConfig.id, err: errorText(error) }, 'upstream MCP server not ready'),
        );
    }

    const integrity = createToolIntegrity({ store: stores.pins, audit, firstSight: config.integrity.firstSight });
    const catalog = createCatalog({
      connectors,
      catalogContext: catalogContextFor(egress),
      onWarning: (w) => logger.warn({ connector: w.connector }, w.message),
      screen: (connector, tools, names) => integrity.screen(connector.id, tools, names),
    });
    await catalog.refresh();
    closers.push(async () => catalog.close());
    metrics.limitToolLabels((tool) => catalog.resolveTool(tool) !== undefined);

    // The pending gauge is read from the queue itself, so expiries and other instances' decisions count.
    const pendingGauge = setInterval(() => {
      void queue
        .list({ status: 'pending', limit: 1000 })
        .then((tickets) => metrics.setApprovalsPending(tickets.length))
        .catch(() => undefined);
    }, 15_000);
    pendingGauge.unref();
    closers.push(async () => clearInterval(pendingGauge));
    closers.push(() => grants.close());

    const pipeline = createPipeline({
      catalog,
      policy,
      egress,
      audit,
      metrics,
      credentials: backendCredentials.provider,
      elevation: {
        queue,
        grants,
        audit,
        config: config.approvals,
        redactArgs: (args) => redactDetail(args) as JsonObject,
      },
      taskState: async (taskId) => {
        const task = await stores.tasks.get(taskId);
        if (!isTaskLive(task, Date.now())) return { live: false, labelsRead: [] };
        taskExpiry.set(taskId, task.expiresAt);
        return { live: true, labelsRead: task.labelsRead };
      },
      recordLabels: (taskId, labels) => stores.tasks.addLabels(taskId, labels),
      rateLimit: (key, limit, windowSeconds) => stores.rateLimiter.hit(key, limit, windowSeconds),
      flushAuditBeforeResponse: config.audit.flushBeforeResponse,
      callTimeoutMs: 120_000,
      onError: (error, where) => logger.error({ where, err: errorText(error) }, 'pipeline error'),
    });

    const authenticatorAgents: ApiKeyAgent[] = [];
    for (const agent of config.agents) {
      if (agent.disabled) continue;
      authenticatorAgents.push({
        agentId: agent.id,
        roles: agent.roles,
        ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
        ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
        keyDigests: await digests(agent.apiKeys, { env, baseDir }),
      });
    }
    const operatorAuth = createOperatorAuthenticator({
      operators: await Promise.all(
        config.operators.map(async (operator) => ({
          id: operator.id,
          roles: operator.roles,
          tokenDigests: await digests(operator.tokens, { env, baseDir }),
        })),
      ),
    });
    const agentsRouter = express.Router();
    agentsRouter.use('/v1/agents', operatorAuth.require('admin'));
    agentsRouter.use(
      createAgentsRouter(stores.revocation, audit, {
        actor: (_req, res) => (res.locals['operator'] as { id?: string } | undefined)?.id,
      }),
    );
    const operatorRouters: Router[] = [
      createApprovalsRouter({
        queue,
        grants,
        audit,
        operatorAuth,
        isSelf: (operatorId, ticket) => isOwner(config, operatorId, ticket),
        isTaskLive: async (taskId) => isTaskLive(await stores.tasks.get(taskId), Date.now()),
        onDecided: (ticket) =>
          metrics.observeApprovalDecision(
            (Date.now() - Date.parse(ticket.createdAt)) / 1000,
            ticket.status === 'approved' ? 'approved' : 'denied',
          ),
        ...(config.telemetry.jaegerUiUrl !== undefined ? { traceUrl: traceLink(config.telemetry.jaegerUiUrl) } : {}),
      }),
      createToolsRouter({ integrity, catalog, operatorAuth }),
      agentsRouter,
      credentialsRouter({ revocation: stores.revocation, issuer, audit, operatorAuth }),
      createConsoleRouter(),
    ];

    const implicitTaskTtlSeconds = 24 * 3600;
    const taskForSession = async (principal: Principal, sessionId: string): Promise<TaskFacts> => {
      if (principal.taskId !== undefined) {
        const task = await stores.tasks.get(principal.taskId);
        if (!isTaskLive(task, Date.now())) throw new Error('task has ended');
        taskExpiry.set(task.id, task.expiresAt);
        return {
          id: task.id,
          intent: task.intent,
          ...(task.declaredTools !== undefined ? { declaredTools: task.declaredTools } : {}),
          labelsRead: task.labelsRead,
        };
      }
      const created = Date.now();
      const task = await stores.tasks.create({
        id: `session-${sessionId}`,
        agentId: principal.agentId,
        ...(principal.tenant !== undefined ? { tenant: principal.tenant } : {}),
        intent: 'MCP session',
        createdAt: created,
        expiresAt: created + implicitTaskTtlSeconds * 1000,
      });
      taskExpiry.set(task.id, task.expiresAt);
      return { id: task.id, intent: task.intent, labelsRead: [] };
    };
    const endImplicitTask = async (taskId: string): Promise<void> => {
      taskExpiry.delete(taskId);
      issuer.forgetTask(taskId);
      if (!taskId.startsWith('session-')) return;
      await stores.tasks.end(taskId, 'session closed').catch(() => undefined);
      await grants.endTask(taskId).catch(() => undefined);
    };

    const health = (): Record<string, unknown> & { ok: boolean } => {
      const status = policy.status();
      return {
        ok: status.lastError === undefined,
        version: VERSION,
        policy: status,
        stores: stores.kind,
        catalogWarnings: catalog.warnings().length,
      };
    };
    return {
      config,
      logger,
      audit,
      metrics,
      stores,
      pipeline,
      catalog,
      egress,
      operatorAuth,
      operatorRouters,
      health,
      authenticatorAgents,
      issuer,
      keys,
      taskService,
      taskForSession,
      endImplicitTask,
      resourceUpdates: {
        subscribe(listener) {
          resourceUpdates.on('updated', listener);
          return () => resourceUpdates.off('updated', listener);
        },
      },
      closers,
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { config } = options.loaded;
  // Listen first: the gateway's URL is the issuer of its tokens and must be known before anything is minted.
  const server = createServer();
  await listen(server, config.listen.host, config.listen.port);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const baseUrl = `http://${host}:${address.port}`;
  let core: Core;
  try {
    core = await buildCore({ ...options, baseUrl: options.baseUrl ?? config.http.publicUrl ?? baseUrl });
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  core.closers.push(() => closeServer(server));
  const { logger } = core;
  const env = options.env ?? process.env;
  try {
    const publicUrl = config.http.publicUrl ?? baseUrl;
    const resource = `${publicUrl.replace(/\/$/, '')}/mcp`;
    const authenticators = await buildAuthenticators({
      config,
      resource,
      issuer: core.issuer.issuer,
      keys: core.keys,
      revocation: core.stores.revocation,
      tasks: core.stores.tasks,
      apiKeyAgents: core.authenticatorAgents,
    });
    const oauth = config.auth.oauth;
    const authenticator = createRequestAuthenticator({
      authenticators,
      isAgentDisabled: (agentId) => core.stores.revocation.isAgentDisabled(agentId),
    });
    const metadataConfig = {
      resource,
      authorizationServers: oauth !== undefined ? [oauth.issuer] : [],
      scopesSupported: oauth?.requiredScopes ?? [],
    };
    const edge = createMcpHttpEdge({
      pipeline: core.pipeline,
      egress: core.egress,
      audit: core.audit,
      serverInfo: { name: 'portcullis', version: VERSION },
      resourceUpdates: core.resourceUpdates,
      elevationTool: config.approvals.offerRequestTool,
      authenticator,
      responseMode: config.http.responseMode,
      maxRequestBytes: config.http.maxRequestBytes,
      sessionIdleSeconds: config.http.sessionIdleSeconds,
      maxSessionsPerAgent: config.http.maxSessionsPerAgent,
      challenge: (error) =>
        oauth !== undefined
          ? wwwAuthenticate(metadataConfig, error?.bearerError !== undefined ? error : undefined)
          : `Bearer realm="portcullis"${error?.bearerError !== undefined ? `, error="${error.bearerError}", error_description="${error.message.replace(/"/g, "'")}"` : ''}`,
      taskForSession: core.taskForSession,
      onAuthFailure: (code) => core.metrics.authFailure(code),
      onSessionClosed: (session: McpSession) => {
        void core.endImplicitTask(session.task.id);
        void core.audit
          .append({
            event: 'session.close',
            agentId: session.principal.agentId,
            taskId: session.task.id,
            sessionId: session.id,
          })
          .catch(() => undefined);
      },
    });
    core.closers.push(() => edge.close());

    const metricsTokenSha256 =
      config.metrics.token === undefined
        ? undefined
        : 'sha256' in config.metrics.token
          ? config.metrics.token.sha256
          : digestApiKey(
              (await resolveSecretRef(config.metrics.token.secret, { env, baseDir: options.loaded.baseDir })).reveal(),
            );
    const metricsRouter = createMetricsRouter({
      handler: core.metrics.handler,
      ...(metricsTokenSha256 !== undefined ? { tokenSha256: metricsTokenSha256 } : {}),
    });
    let metricsUrl: string | undefined;
    if (config.metrics.listen !== undefined) {
      const metricsServer = await startMetricsListener(config.metrics.listen, config.http.allowedHosts, metricsRouter);
      core.closers.push(() => closeServer(metricsServer.server));
      metricsUrl = `${metricsServer.baseUrl}/metrics`;
    }
    const routers: Router[] = [...(metricsUrl === undefined ? [metricsRouter] : []), ...core.operatorRouters];
    const wellKnown = express.Router();
    wellKnown.get('/.well-known/jwks.json', (_req, res) => {
      res.set('cache-control', 'public, max-age=300').json(core.issuer.jwks());
    });
    if (oauth !== undefined) {
      const metadataPath = new URL(resourceMetadataUrl(resource)).pathname;
      wellKnown.get(metadataPath, (_req, res) => void res.json(protectedResourceMetadata(metadataConfig)));
    }
    routers.push(wellKnown);
    routers.push(
      createTasksRouter(core.taskService, (req) =>
        authenticator.authenticate({ headers: req.headers, url: req.originalUrl, rawHeaders: req.rawHeaders }),
      ),
    );
    if (config.auth.introspectionClients.length > 0) {
      routers.push(
        createIntrospectionRouter({
          verifyOwnToken: createOwnTokenVerifier({ issuer: core.issuer.issuer, keys: core.keys }),
          revocation: core.stores.revocation,
          clients: await Promise.all(
            config.auth.introspectionClients.map(async (c) => ({
              id: c.id,
              ...(c.audiences !== undefined ? { audiences: c.audiences } : {}),
              secretSha256:
                'sha256' in c.secret
                  ? c.secret.sha256
                  : digestApiKey(
                      (await resolveSecretRef(c.secret.secret, { env, baseDir: options.loaded.baseDir })).reveal(),
                    ),
            })),
          ),
        }),
      );
    }

    const app = createApp({
      hostOrigin: {
        listenHost: config.listen.host,
        allowedHosts: config.http.allowedHosts,
        allowedOrigins: config.http.allowedOrigins,
      },
      mcpRouter: edge.router,
      health: () => ({ ...core.health(), sessions: edge.sessions().length }),
      authorizeHealthDetails: (req) => void core.operatorAuth.authenticate(req),
      routers,
      onError: (error) => logger.error({ err: errorText(error) }, 'request failed'),
    });
    server.on('request', app);
    return {
      baseUrl,
      mcpUrl: `${baseUrl}/mcp`,
      ...(metricsUrl !== undefined ? { metricsUrl } : {}),
      pipeline: core.pipeline,
      catalog: core.catalog,
      audit: core.audit,
      stores: core.stores,
      close: () => closeAll(core.closers),
    };
  } catch (error) {
    await closeAll(core.closers);
    throw error;
  }
}

/**
 * stdio front door: a desktop MCP client launches the gateway as a child process. The local user who can
 * launch it with this configuration acts as the named agent (there is no network peer to authenticate).
 */
export async function startStdioGateway(
  options: StartOptions & { agentId?: string },
): Promise<{ close(): Promise<void> }> {
  const core = await buildCore(options);
  try {
    const agents = core.authenticatorAgents;
    const agent =
      options.agentId !== undefined
        ? agents.find((a) => a.agentId === options.agentId)
        : agents.length === 1
          ? agents[0]
          : undefined;
    if (agent === undefined) {
      throw new Error(
        options.agentId !== undefined
          ? `unknown or disabled agent "${options.agentId}"`
          : 'several agents are configured: pass --agent ID',
      );
    }
    if (await core.stores.revocation.isAgentDisabled(agent.agentId))
      throw new Error(`agent "${agent.agentId}" is disabled`);
    const principal: Principal = {
      agentId: agent.agentId,
      roles: agent.roles,
      ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
      ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
      authMethod: 'stdio',
    };
    const sessionId = randomUUID();
    const task = await core.taskForSession(principal, sessionId);
    const taskSpan = startTaskSpan({
      id: task.id,
      agentId: principal.agentId,
      ...(task.intent !== undefined ? { intent: task.intent } : {}),
    });
    core.closers.push(async () => taskSpan.end('stdio closed'));
    const session: McpSession = {
      id: sessionId,
      principal,
      task,
      logLevel: 'info',
      subscriptions: new Set(),
      lastActivity: Date.now(),
      traceContext: taskSpan.context,
    };
    const server = createGatewayMcpServer(session, {
      pipeline: core.pipeline,
      egress: core.egress,
      audit: core.audit,
      serverInfo: { name: 'portcullis', version: VERSION },
      resourceUpdates: core.resourceUpdates,
      elevationTool: core.config.approvals.offerRequestTool,
    });
    const transport = new StdioServerTransport();
    session.server = server;
    session.transport = transport;
    await server.connect(transport);
    core.closers.push(() => server.close());
    return { close: () => closeAll(core.closers) };
  } catch (error) {
    await closeAll(core.closers);
    throw error;
  }
}

async function digests(
  keys: GatewayConfig['agents'][number]['apiKeys'],
  options: { env: Environment; baseDir: string },
): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys)
    out.push('sha256' in key ? key.sha256 : digestApiKey((await resolveSecretRef(key.secret, options)).reveal()));
  return out;
}

/** The separate `/metrics` listener (`metrics.listen`), with the same Host/Origin checks as the gateway's. */
async function startMetricsListener(
  address: { host: string; port: number },
  allowedHosts: readonly string[],
  router: Router,
): Promise<{ server: HttpServer; baseUrl: string }> {
  const app = express();
  app.disable('x-powered-by');
  app.use(hostOriginGuard({ listenHost: address.host, allowedHosts, allowedOrigins: [] }));
  app.use(router);
  app.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'not found' } }));
  const server = createServer(app);
  await listen(server, address.host, address.port);
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { server, baseUrl: `http://${host}:${bound.port}` };
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  while (closers.length > 0) {
    const close = closers.pop()!;
    await close().catch(() => undefined);
  }
}

function listen(server: HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
