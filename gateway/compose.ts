/**
 * Opens every part of the gateway from the configuration, in dependency order, and registers how to close
 * each (in reverse). Part of the composition root (with main.ts): it wires, and decides nothing itself.
 */
import { assertConfigUsable, type Environment, type LoadedConfig } from './config/index.js';
import { createDrain, createLogger, type Logger } from './kernel/index.js';
import {
  baselineRules,
  catalogContextFor,
  createAdmission,
  createPipeline,
  GATEWAY_DESTINATIONS,
  gatewayDestinationRules,
} from './pipeline/index.js';
import { startPendingGauge } from './services/approvals/index.js';
import {
  appendBestEffort,
  openAuditSink,
  redactDetail,
  withRecentAudit,
  type AuditSink,
} from './services/audit/index.js';
import { egressDenialRecorder } from './services/egress/index.js';
import { apiKeyAgentsFrom } from './services/auth/index.js';
import { createCatalog, createConnectorLogs, createResourceUpdates, openConnectors } from './services/catalog/index.js';
import {
  contextualInjector,
  createBackendCredentials,
  openCredentials,
  openStateSealingKey,
  withOutboundHygiene,
} from './services/credentials/index.js';
import { createGatewayEgress } from './services/egress/index.js';
import { createToolIntegrity } from './services/integrity/index.js';
import { createMetrics } from './services/metrics/index.js';
import { checkReadiness, connectorHealth, type ReadinessReport } from './services/health/index.js';
import {
  createPolicyStore,
  knownNamesFromConfig,
  policyEventRecorder,
  readPolicyFiles,
  unknownPolicyReferences,
} from './services/policy/index.js';
import { createSessionTasks, createTaskService } from './services/tasks/index.js';
// The one import of the OpenTelemetry SDK (through sdk.ts): every other module uses @opentelemetry/api.
import { startTelemetry } from './services/telemetry/sdk.js';
import { guardStore, openApprovals, openStores, type EpochEvent } from './stores/index.js';
import type { JsonObject } from '../connectors/contract.js';
import type { EgressFacts } from '../policies/types.js';
import { compilePolicy, parsePolicyObject } from '../policies/index.js';
import { assertPreflight } from './preflight.js';

export interface StartOptions {
  loaded: LoadedConfig;
  /** The gateway's own URL (issuer of its tokens); defaults to `http.publicUrl`, else the listen address. */
  baseUrl?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: Environment;
  logger?: Logger;
}

export type Closer = () => Promise<void>;

/** Open every part except the listeners (shared by the HTTP and stdio front doors). */
export async function compose(options: StartOptions, closers: Closer[]) {
  const { config, baseDir } = options.loaded;
  assertConfigUsable(options.loaded);
  // The same checks `portcullis config validate` runs, before anything is started.
  await assertPreflight(options.loaded);
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ level: env['PORTCULLIS_LOG_LEVEL'] ?? 'info' });
  const logError = (message: string) => (err: unknown, where?: string) =>
    logger.error({ where, err: err instanceof Error ? err.message : String(err) }, message);
  // Telemetry may fail open: an unreachable collector never affects calls (batch export, dropped spans).
  if (config.telemetry.enabled) {
    const { serviceName, otlpEndpoint, sampleRatio } = config.telemetry;
    closers.push(
      startTelemetry({ serviceName, sampleRatio, env, ...(otlpEndpoint !== undefined ? { otlpEndpoint } : {}) })
        .shutdown,
    );
  }
  const metrics = createMetrics();
  // Every part appends through the recent-records view, so the console sees each durable record.
  const { sink: audit, recent: recentAudit } = withRecentAudit(
    await openAuditSink(config.audit, {
      onFailure: (event, error) => {
        metrics.auditWriteFailed(event);
        logger.error({ event, code: (error as { code?: unknown } | null)?.code }, 'audit record not written');
      },
    }),
  );
  closers.push(() => audit.close());
  const stores = await openStores(config.stores, {
    env,
    baseDir,
    ...(config.audit.file !== undefined ? { auditFile: config.audit.file } : {}),
    pendingApprovalTtlSeconds: config.approvals.pendingTtlSeconds,
    onEpochEvent: storeEpochRecorder(audit, logger),
  });
  closers.push(() => stores.close());
  const secrets = { env, baseDir };
  const issuerUrl = options.baseUrl ?? config.http.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`;
  const { keys, issuer } = await openCredentials(config.credentials, { issuerUrl, ...secrets });
  const stateSealingKey = await openStateSealingKey(config.credentials, secrets);
  const { limits, tasks } = config;
  // Policy, egress and approvals open before tasks: ending a task ends its approval grants, and the approvals
  // webhook goes out through the gateway's egress.
  const policy = await createPolicyStore({
    files: config.policy.files,
    shadowFiles: config.policy.shadow,
    watch: config.policy.watch,
    settleMs: config.policy.settleMs,
    extraRules: () => baselineRules(config),
    logger,
    ...policyEventRecorder({ audit, metrics, logger }),
  });
  closers.push(async () => policy.close());
  const decide = (facts: EgressFacts) => policy.current().evaluateEgress(facts);
  // The gateway's own requests (approvals webhook, OAuth JWKS) are decided by their own rule set.
  const gatewayRules = compilePolicy(
    [parsePolicyObject({ version: 1, name: 'gateway-destinations', rules: [] }, '(gateway destinations)')],
    { extraRules: gatewayDestinationRules(config), extraRulesSource: '(gateway configuration)' },
  );
  const guards = createGatewayEgress({
    decideConnector: decide,
    decideGateway: (facts) => gatewayRules.evaluateEgress(facts),
    mcpConnectors: new Set(config.connectors.filter((c) => c.kind === 'mcp').map((c) => c.id)),
    maxRedirects: config.egress.maxRedirects,
    maxResponseBytes: config.egress.maxResponseBytes,
    timeoutMs: config.egress.timeoutMs,
    upstreamStreamTimeoutMs: limits.upstreamStreamTimeoutSeconds * 1000,
    onDenied: egressDenialRecorder({ audit, logger }),
  });
  closers.push(() => guards.close());
  const { queue, grants, notifier } = openApprovals(
    config,
    stores,
    audit,
    metrics,
    logger,
    guards.gatewayFetch(GATEWAY_DESTINATIONS.approvalsWebhook),
  );
  closers.push(
    () => queue.close(),
    () => grants.close(),
    async () => void (await notifier?.close()),
  );
  const sessionTasks = createSessionTasks({
    store: stores.tasks,
    implicitTtlSeconds: limits.sessionTaskTtlSeconds,
    onForget: (id) => issuer.forgetTask(id),
    onImplicitTaskEnded: (id) => grants.endTask(id),
  });
  const taskService = createTaskService({
    store: stores.tasks,
    revocation: stores.revocation,
    issuer,
    audit,
    ...tasks,
    onEnded: (id) => grants.endTask(id),
  });
  const isJtiRevoked = (jti: string) => stores.revocation.isJtiRevoked(jti);
  const credentials = await createBackendCredentials({
    config: config.backendCredentials,
    issuer,
    audit,
    metrics,
    isJtiRevoked,
    tasksExpiry: sessionTasks.expiryOf,
    ...secrets,
  });
  const egress = { fetchFor: guards.fetchFor };
  const resourceUpdates = createResourceUpdates();
  const connectorLogs = createConnectorLogs();
  const connectors = await openConnectors(config.connectors, {
    baseDir,
    logger,
    onResourceUpdated: resourceUpdates.emit,
    onConnectorLog: (connectorId, message) => {
      logger.debug({ connector: connectorId, level: message.level }, 'upstream log message');
      connectorLogs.emit(connectorId, message);
    },
    maxMessageBytes: config.egress.maxResponseBytes,
    // One long-lived connection per upstream for every agent: each call's credential comes from its context.
    upstreamFetch: (id) =>
      withOutboundHygiene(guards.fetchFor({ connector: id }), contextualInjector(credentials.staticInjector(id))),
  });
  closers.push(async () => void (await Promise.all(connectors.map((c) => c.close().catch(() => undefined)))));
  const integrity = createToolIntegrity({ store: stores.pins, audit, firstSight: config.integrity.firstSight });
  const catalog = createCatalog({
    connectors,
    catalogContext: catalogContextFor(egress, limits.catalogRequestTimeoutMs),
    onWarning: (w) => logger.warn({ connector: w.connector }, w.message),
    screen: (connector, tools, names) => integrity.screen(connector.id, tools, names),
  });
  await catalog.refresh();
  closers.push(async () => catalog.close());
  // Agents choose the tool names they send: only the catalog's become metric label values.
  metrics.limitToolLabels(
    (tool) => catalog.resolveTool(tool) !== undefined,
    (prompt) => catalog.resolvePrompt(prompt) !== undefined,
  );
  // Rules naming an agent, role, connector or tool that does not exist never match: say so at start.
  const known = knownNamesFromConfig(
    config,
    catalog.tools().map((tool) => tool.exposedName),
  );
  for (const problem of unknownPolicyReferences(await readPolicyFiles(config.policy.files), known))
    logger.warn({ file: problem.file, line: problem.line, rule: problem.rule }, problem.message);
  closers.push(startPendingGauge(queue, (n) => metrics.setApprovalsPending(n), limits.approvalsGaugeIntervalSeconds));
  const redactArgs = (args: JsonObject) => redactDetail(args) as JsonObject;
  const pipeline = createPipeline({
    catalog,
    policy,
    egress,
    audit,
    metrics,
    credentials: credentials.provider,
    rateLimiter: stores.rateLimiter,
    tasks: sessionTasks.states,
    elevation: { queue, grants, audit, config: config.approvals, redactArgs },
    flushAuditBeforeResponse: config.audit.flushBeforeResponse,
    admission: createAdmission(config.connectorLimits),
    callTimeoutMs: limits.callTimeoutMs,
    onError: logError('pipeline error'),
  });
  const apiKeyAgents = await apiKeyAgentsFrom(config, secrets);
  // Reachability of the shared state, for answers that must not mistake an outage for state.
  const probe = async (): Promise<void> => {
    const redis = stores.redis;
    if (redis !== undefined) await guardStore(() => redis.ping());
  };
  // Readiness fails only on what fails every call (docs/operations.md), and from the start of a drain.
  const drain = createDrain();
  const readiness = (): ReadinessReport =>
    checkReadiness({
      audit: () => audit.status?.() ?? { available: true },
      store: () => stores.status(),
      policy: () => {
        const status = policy.status();
        // The policy store does not start without a policy, and keeps the last good one on a bad reload.
        const lastError = status.lastError !== undefined ? { lastError: status.lastError.message } : {};
        return { loaded: true, version: status.version, ...lastError };
      },
      connectors: () =>
        connectors.map((connector, i) => ({
          id: connector.id,
          required: config.connectors[i]?.required === true,
          health: () => connectorHealth(connector),
        })),
      draining: () => drain.draining,
    });
  const operator = {
    ...{ queue, grants, integrity, recentAudit, taskService, policy },
    ...{ tasks: stores.tasks, stores: { kind: stores.kind, probe }, lostApprovals: () => stores.lostApprovals() },
  };
  // What the front doors need: main.ts hands it to the HTTP server or the stdio session.
  return {
    config,
    env,
    baseDir,
    logger,
    audit,
    metrics,
    stores,
    keys,
    issuer,
    stateSealingKey,
    sessionTasks,
    taskService,
    pipeline,
    catalog,
    egress,
    jwksFetch: guards.gatewayFetch(GATEWAY_DESTINATIONS.oauthJwks),
    policy,
    apiKeyAgents,
    resourceUpdates,
    connectorLogs,
    operator,
    readiness,
    drain,
    sessionSlots: stores.sessionSlots(config.http.maxSessionsPerAgent),
  };
}

/** A state store that lost its data, and its recovery: logged and audited (what was rebuilt, from where, how long). */
function storeEpochRecorder(audit: AuditSink, logger: Logger): (event: EpochEvent) => void {
  return (event) => {
    switch (event.kind) {
      case 'lost':
        logger.error({ reason: event.reason }, 'the state store lost its data; refusing until it is rebuilt');
        void appendBestEffort(audit, {
          event: 'store.lost',
          decision: 'error',
          code: 'STORE_UNAVAILABLE',
          reason: event.reason === 'missing' ? 'store epoch missing' : 'store epoch changed (rebuilt elsewhere)',
        });
        return;
      case 'recovered': {
        const detail = { how: event.how, downMs: event.downMs, ...(event.report !== undefined ? event.report : {}) };
        logger.warn(detail, 'state store recovered');
        void appendBestEffort(audit, { event: 'store.recovered', detail });
        return;
      }
      case 'rebuild-failed':
        logger.error(
          { err: event.error instanceof Error ? event.error.message : String(event.error) },
          'state store rebuild failed; still refusing, retrying',
        );
        return;
    }
  };
}
