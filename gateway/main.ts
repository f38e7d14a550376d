/**
 * The composition root: reads the environment, starts the OpenTelemetry SDK, opens every part from the
 * configuration in dependency order, and hands them to a front door (HTTP or stdio). It decides nothing
 * itself; each part's behaviour lives in its module. Everything opened is closed in reverse order.
 */
import { EventEmitter } from 'node:events';
import type { Environment, LoadedConfig } from './config/index.js';
import { createHttpServer, closeServer, listenOn } from './edges/server/index.js';
import { principalForStdio, serveStdio } from './edges/mcp/index.js';
import { createOperatorAuthenticator, createOperatorRouters } from './edges/operator/index.js';
import { VERSION, createLogger, type Logger } from './kernel/index.js';
import { baselineRules, catalogContextFor, createPipeline, type Pipeline } from './pipeline/index.js';
import { startPendingGauge } from './services/approvals/index.js';
import { openAuditSink, redactDetail, type AuditSink } from './services/audit/index.js';
import { apiKeyAgentsFrom, operatorsFrom } from './services/auth/index.js';
import { createCatalog, openConnectors, type Catalog } from './services/catalog/index.js';
import {
  contextualInjector,
  createBackendCredentials,
  openCredentials,
  withOutboundHygiene,
} from './services/credentials/index.js';
import { openEgress } from './services/egress/index.js';
import { createToolIntegrity } from './services/integrity/index.js';
import { createMetrics } from './services/metrics/index.js';
import { createPolicyStore, policyEventRecorder } from './services/policy/index.js';
import { createSessionTasks, createTaskService } from './services/tasks/index.js';
import { startTelemetry } from './services/telemetry/index.js';
import { openApprovals, openStores, type Stores } from './stores/index.js';
import type { JsonObject } from '../connectors/contract.js';
import type { EgressFacts } from '../policies/types.js';

export { VERSION };

export interface StartOptions {
  loaded: LoadedConfig;
  /** The gateway's own URL (issuer of its tokens); defaults to `http.publicUrl`, else the listen address. */
  baseUrl?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: Environment;
  logger?: Logger;
}

export interface RunningGateway {
  baseUrl: string; // `http://host:port`
  mcpUrl: string; // `http://host:port/mcp`
  pipeline: Pipeline;
  catalog: Catalog;
  audit: AuditSink;
  stores: Stores;
  close(): Promise<void>;
}

type Closer = () => Promise<void>;

/** Open every part except the listeners (shared by the HTTP and stdio front doors). */
async function compose(options: StartOptions, closers: Closer[]) {
  const { config, baseDir } = options.loaded;
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ level: env['PORTCULLIS_LOG_LEVEL'] ?? 'info' });
  const logError = (message: string) => (err: unknown, where?: string) =>
    logger.error({ where, err: err instanceof Error ? err.message : String(err) }, message);
  // Telemetry may fail open: an unreachable collector never affects calls (batch export, dropped spans).
  if (config.telemetry.enabled) closers.push(startTelemetry({ ...config.telemetry, env }).shutdown);
  const metrics = createMetrics();
  const audit = await openAuditSink(config.audit, {
    onFailure: (event, error) => {
      metrics.auditWriteFailed(event);
      logger.error({ event, code: (error as { code?: unknown } | null)?.code }, 'audit record not written');
    },
  });
  closers.push(() => audit.close());
  const stores = await openStores(config.stores, { env, baseDir });
  closers.push(() => stores.close());
  const secrets = { env, baseDir };
  const issuerUrl = options.baseUrl ?? config.http.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`;
  const { keys, issuer } = await openCredentials(config.credentials, { issuerUrl, ...secrets });
  const { limits, tasks } = config;
  const sessionTasks = createSessionTasks({
    store: stores.tasks,
    implicitTtlSeconds: limits.sessionTaskTtlSeconds,
    onForget: (id) => issuer.forgetTask(id),
  });
  const taskService = createTaskService({
    store: stores.tasks,
    revocation: stores.revocation,
    issuer,
    audit,
    ...tasks,
  });
  const isJtiRevoked = (jti: string) => stores.revocation.isJtiRevoked(jti);
  const credentials = await createBackendCredentials({
    ...{ config: config.backendCredentials, issuer, audit, metrics, isJtiRevoked, ...secrets },
    tasksExpiry: sessionTasks.expiryOf,
  });
  const policy = await createPolicyStore({
    ...{ files: config.policy.files, shadowFiles: config.policy.shadow, watch: config.policy.watch, logger },
    extraRules: () => baselineRules(config),
    ...policyEventRecorder({ audit, metrics, logger }),
  });
  closers.push(async () => policy.close());
  const decide = (facts: EgressFacts) => policy.current().evaluateEgress(facts);
  const guards = openEgress(config.egress, { decide, streamTimeoutSeconds: limits.upstreamStreamTimeoutSeconds });
  closers.push(() => guards.close());
  const egress = { fetchFor: guards.calls.fetchFor };
  const resourceUpdates = new EventEmitter().setMaxListeners(0);
  const connectors = await openConnectors(config.connectors, {
    ...{ baseDir, logger, onResourceUpdated: (uri) => resourceUpdates.emit('updated', uri) },
    // One long-lived connection per upstream for every agent: each call's credential comes from its context.
    upstreamFetch: (id) =>
      withOutboundHygiene(
        guards.streams.fetchFor({ connector: id }),
        contextualInjector(credentials.staticInjector(id)),
      ),
  });
  closers.push(async () => void (await Promise.all(connectors.map((c) => c.close().catch(() => undefined)))));
  const integrity = createToolIntegrity({ store: stores.pins, audit });
  const catalog = createCatalog({
    ...{ connectors, catalogContext: catalogContextFor(egress, limits.catalogRequestTimeoutMs) },
    onWarning: (w) => logger.warn({ connector: w.connector }, w.message),
    screen: (connector, tools, names) => integrity.screen(connector.id, tools, names),
  });
  await catalog.refresh();
  closers.push(async () => catalog.close());
  const { queue, grants, notifier } = openApprovals(config, stores, audit, metrics, logger);
  closers.push(
    () => queue.close(),
    () => grants.close(),
    async () => void (await notifier?.close()),
  );
  closers.push(startPendingGauge(queue, (n) => metrics.setApprovalsPending(n), limits.approvalsGaugeIntervalSeconds));
  const redactArgs = (args: JsonObject) => redactDetail(args) as JsonObject;
  const pipeline = createPipeline({
    ...{ catalog, policy, egress, audit, metrics, credentials: credentials.provider, rateLimiter: stores.rateLimiter },
    elevation: { queue, grants, audit, config: config.approvals, redactArgs },
    ...{ tasks: sessionTasks.states, callTimeoutMs: limits.callTimeoutMs, onError: logError('pipeline error') },
    flushAuditBeforeResponse: config.audit.flushBeforeResponse,
  });
  const operatorAuth = createOperatorAuthenticator({ operators: await operatorsFrom(config, secrets) });
  const operatorRouters = createOperatorRouters({
    ...{ config, operatorAuth, queue, grants, audit, metrics, integrity, catalog, issuer },
    ...{ revocation: stores.revocation, onInternalError: logError('operator request failed') },
  });
  const health = () => {
    const status = policy.status();
    const ok = status.lastError === undefined;
    return { ok, version: VERSION, policy: status, stores: stores.kind, catalogWarnings: catalog.warnings().length };
  };
  const subscribe = (listener: (uri: string) => void) => {
    resourceUpdates.on('updated', listener);
    return () => void resourceUpdates.off('updated', listener);
  };
  const apiKeyAgents = await apiKeyAgentsFrom(config, secrets);
  return {
    ...{ config, env, baseDir, logger, audit, metrics, stores, keys, issuer, sessionTasks, taskService },
    ...{ pipeline, catalog, egress, operatorRouters, health, apiKeyAgents, resourceUpdates: { subscribe } },
  };
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { config } = options.loaded;
  const closers: Closer[] = [];
  try {
    // Listen first: the gateway's URL is the issuer of its tokens and must be known before anything is minted.
    const { server, baseUrl } = await listenOn(config.listen.host, config.listen.port);
    closers.push(() => closeServer(server));
    const core = await compose({ ...options, baseUrl: options.baseUrl ?? config.http.publicUrl ?? baseUrl }, closers);
    const http = await createHttpServer({
      ...core,
      revocation: core.stores.revocation,
      publicUrl: config.http.publicUrl ?? baseUrl,
    });
    closers.push(() => http.close());
    server.on('request', http.app);
    const { pipeline, catalog, audit, stores } = core;
    return { baseUrl, mcpUrl: `${baseUrl}/mcp`, pipeline, catalog, audit, stores, close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** stdio front door: a desktop MCP client launches the gateway as a child process (see edges/mcp/stdio.ts). */
export async function startStdioGateway(
  options: StartOptions & { agentId?: string },
): Promise<{ close(): Promise<void> }> {
  const closers: Closer[] = [];
  try {
    const core = await compose(options, closers);
    const principal = await principalForStdio(core.apiKeyAgents, options.agentId, core.stores.revocation);
    const session = await serveStdio({
      ...core,
      principal,
      taskForSession: core.sessionTasks.taskForSession,
      serverInfo: { name: 'portcullis', version: VERSION },
      elevationTool: core.config.approvals.offerRequestTool,
    });
    closers.push(() => session.close());
    return { close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function closeAll(closers: Closer[]): Promise<void> {
  for (let close = closers.pop(); close !== undefined; close = closers.pop()) await close().catch(() => undefined);
}
