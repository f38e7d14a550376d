/**
 * The composition root: the one place that reads the environment and starts the OpenTelemetry SDK, builds
 * every long-lived resource from the parsed configuration, wires them together, and closes them in reverse
 * order.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer, type Server as HttpServer } from 'node:http';
import express, { type Router } from 'express';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Connector } from '../connectors/contract.js';
import { createHttpConnector } from '../connectors/http/index.js';
import { createMcpConnector } from '../connectors/mcp/index.js';
import { createApiKeyAuthenticator, digestApiKey, type ApiKeyAgent } from './auth/api-key-authenticator.js';
import { createRequestAuthenticator } from './auth/authenticate.js';
import type { Principal } from './auth/types.js';
import { createJsonlAuditSink, createMemoryAuditSink } from './audit/index.js';
import type { AuditSink } from './audit/types.js';
import type { LoadedConfig } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { resolveSecretRef, type Environment } from './config/secrets.js';
import { createEgressGuard } from './egress/index.js';
import { createApp } from './http/app.js';
import { createToolIntegrity } from './integrity/tool-integrity.js';
import { createLogger, type Logger } from './log.js';
import { createMcpHttpEdge } from './mcp/http-edge.js';
import { createGatewayMcpServer } from './mcp/server.js';
import type { McpSession } from './mcp/session.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { createConsoleRouter } from './operator/console-router.js';
import { createOperatorAuthenticator, type OperatorAuthenticator } from './operator/operator-auth.js';
import { createToolsRouter } from './operator/tools-router.js';
import { baselineRules } from './pipeline/baseline-rules.js';
import { createCatalog, type Catalog } from './pipeline/catalog.js';
import { withOutboundHygiene } from './pipeline/outbound.js';
import { catalogContextFor, createPipeline, type EgressProvider, type Pipeline } from './pipeline/pipeline.js';
import { createPolicyStore } from './policy/index.js';
import { openStores, type Stores } from './stores.js';
import { startTaskSpan } from './telemetry/task-span.js';
import { startTelemetry } from './telemetry/sdk.js';

export const VERSION = '0.1.0';

export interface StartOptions {
  loaded: LoadedConfig;
  /** Defaults to process.env; tests pass their own. */
  env?: Environment;
  logger?: Logger;
}

export interface RunningGateway {
  /** `http://host:port` */
  baseUrl: string;
  /** `http://host:port/mcp` */
  mcpUrl: string;
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
  closers: (() => Promise<void>)[];
}

/** Build everything except the listeners (shared by the HTTP and stdio front doors). */
async function buildCore(options: StartOptions): Promise<Core> {
  const { config, baseDir } = options.loaded;
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
        ? await createJsonlAuditSink({ file: config.audit.file, durability: config.audit.durability, checkpointFile: `${config.audit.file}.checkpoint.json` })
        : createMemoryAuditSink();
    closers.push(() => audit.close());

    const stores = await openStores(config.stores, { env, baseDir });
    closers.push(() => stores.close());

    const policy = await createPolicyStore({
      files: config.policy.files,
      shadowFiles: config.policy.shadow,
      extraRules: () => baselineRules(config),
      watch: config.policy.watch,
      logger,
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
    const egress: EgressProvider = { fetchFor: (scope) => guard.fetchFor(scope) };

    const connectors: Connector[] = [];
    closers.push(async () => {
      await Promise.all(connectors.map((c) => c.close().catch(() => undefined)));
    });
    for (const connectorConfig of config.connectors) {
      if (connectorConfig.kind === 'http') {
        connectors.push(await createHttpConnector(connectorConfig, { baseDir }));
        continue;
      }
      const connector = createMcpConnector(
        connectorConfig.transport === 'stdio' && connectorConfig.cwd === undefined ? { ...connectorConfig, cwd: baseDir } : connectorConfig,
        {
          fetch: withOutboundHygiene(guard.fetchFor({ connector: connectorConfig.id })),
          onLog: (message) => logger.debug({ connector: connectorConfig.id, level: message.level }, 'upstream log message'),
        },
      );
      connectors.push(connector);
      // A connector that cannot start keeps restarting in the background; the gateway still serves the rest.
      await connector.start().catch((error: unknown) => logger.warn({ connector: connectorConfig.id, err: errorText(error) }, 'upstream MCP server not ready'));
    }

    const integrity = createToolIntegrity({ store: stores.pins, audit });
    const catalog = createCatalog({
      connectors,
      catalogContext: catalogContextFor(egress),
      onWarning: (w) => logger.warn({ connector: w.connector }, w.message),
      screen: (connector, tools, names) => integrity.screen(connector.id, tools, names),
    });
    await catalog.refresh();
    closers.push(async () => catalog.close());

    const pipeline = createPipeline({
      catalog,
      policy,
      egress,
      audit,
      metrics,
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
        config.operators.map(async (operator) => ({ id: operator.id, roles: operator.roles, tokenDigests: await digests(operator.tokens, { env, baseDir }) })),
      ),
    });
    const operatorRouters: Router[] = [createToolsRouter({ integrity, catalog, operatorAuth }), createConsoleRouter()];

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
    return { config, logger, audit, metrics, stores, pipeline, catalog, egress, operatorAuth, operatorRouters, health, authenticatorAgents, closers };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { config } = options.loaded;
  const core = await buildCore(options);
  const { logger } = core;
  try {
    const authenticator = createRequestAuthenticator({
      authenticators: [createApiKeyAuthenticator(core.authenticatorAgents)],
      isAgentDisabled: (agentId) => core.stores.revocation.isAgentDisabled(agentId),
    });
    const edge = createMcpHttpEdge({
      pipeline: core.pipeline,
      egress: core.egress,
      audit: core.audit,
      serverInfo: { name: 'portcullis', version: VERSION },
      authenticator,
      responseMode: config.http.responseMode,
      maxRequestBytes: config.http.maxRequestBytes,
      sessionIdleSeconds: config.http.sessionIdleSeconds,
      challenge: (error) =>
        `Bearer realm="portcullis"${error?.bearerError !== undefined ? `, error="${error.bearerError}", error_description="${error.message.replace(/"/g, "'")}"` : ''}`,
      taskForSession: async (principal, sessionId) => implicitTask(principal, sessionId),
      onSessionClosed: (session: McpSession) => {
        void core.audit.append({ event: 'session.close', agentId: session.principal.agentId, taskId: session.task.id, sessionId: session.id }).catch(() => undefined);
      },
    });
    core.closers.push(() => edge.close());

    const app = createApp({
      hostOrigin: { listenHost: config.listen.host, allowedHosts: config.http.allowedHosts, allowedOrigins: config.http.allowedOrigins },
      mcpRouter: edge.router,
      health: () => ({ ...core.health(), sessions: edge.sessions().length }),
      routers: [metricsRouter(core.metrics), ...core.operatorRouters],
      onError: (error) => logger.error({ err: errorText(error) }, 'request failed'),
    });
    const server = createServer(app);
    await listen(server, config.listen.host, config.listen.port);
    core.closers.push(() => closeServer(server));
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const baseUrl = `http://${host}:${address.port}`;
    return {
      baseUrl,
      mcpUrl: `${baseUrl}/mcp`,
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
export async function startStdioGateway(options: StartOptions & { agentId?: string }): Promise<{ close(): Promise<void> }> {
  const core = await buildCore(options);
  try {
    const agents = core.authenticatorAgents;
    const agent = options.agentId !== undefined ? agents.find((a) => a.agentId === options.agentId) : agents.length === 1 ? agents[0] : undefined;
    if (agent === undefined) {
      throw new Error(options.agentId !== undefined ? `unknown or disabled agent "${options.agentId}"` : 'several agents are configured: pass --agent ID');
    }
    if (await core.stores.revocation.isAgentDisabled(agent.agentId)) throw new Error(`agent "${agent.agentId}" is disabled`);
    const principal: Principal = {
      agentId: agent.agentId,
      roles: agent.roles,
      ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
      ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
      authMethod: 'stdio',
    };
    const sessionId = randomUUID();
    const task = implicitTask(principal, sessionId);
    const taskSpan = startTaskSpan({ id: task.id, agentId: principal.agentId });
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

/** A session without a task token runs as one implicit task that ends with the session. */
function implicitTask(principal: Principal, sessionId: string): { id: string } {
  return { id: principal.taskId ?? `session-${sessionId}` };
}

async function digests(keys: GatewayConfig['agents'][number]['apiKeys'], options: { env: Environment; baseDir: string }): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) out.push('sha256' in key ? key.sha256 : digestApiKey((await resolveSecretRef(key.secret, options)).reveal()));
  return out;
}

/** Prometheus exposition at /metrics (no secrets: labels are tool names, rule ids, codes). */
function metricsRouter(metrics: Metrics): Router {
  const router = express.Router();
  router.get('/metrics', metrics.handler);
  return router;
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
