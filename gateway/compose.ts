/**
 * Opens every part of the gateway from the configuration, in dependency order, and registers how to close
 * each (in reverse). Part of the composition root (with main.ts): it wires, and decides nothing itself.
 */
import { assertConfigUsable } from './config/index.js';
import { createActiveCalls, createDrain, createLogger, type Closer } from './kernel/index.js';
import { catalogContextFor, createGatewayPipeline } from './pipeline/index.js';
import { openGatewayAudit } from './services/audit/index.js';
import { apiKeyAgentsFrom } from './services/auth/index.js';
import { openCatalog, startStdioUpstreams } from './services/catalog/index.js';
import { createBackendCredentials, openCredentials, openStateSealingKey } from './services/credentials/index.js';
import { openGatewayEgress } from './services/egress/index.js';
import { gatewayReadiness } from './services/health/index.js';
import { createToolIntegrity } from './services/integrity/index.js';
import { createMetrics } from './services/metrics/index.js';
import { GATEWAY_DESTINATIONS, openPolicy } from './services/policy/index.js';
import { openTasks } from './services/tasks/index.js';
// The OpenTelemetry SDK is loaded through start.ts, only when tracing is on; all else uses @opentelemetry/api.
import { startConfiguredTelemetry } from './services/telemetry/start.js';
import { openApprovals, openGatewayStores } from './stores/index.js';
import { assertPreflight } from './preflight.js';
import type { StartOptions } from './start-options.js';

export type { StartOptions };

/** Open every part except the listeners (shared by the HTTP and stdio front doors). */
export async function compose(options: StartOptions, closers: Closer[]) {
  const { config, baseDir } = options.loaded;
  assertConfigUsable(options.loaded);
  await assertPreflight(options.loaded); // the same checks `portcullis config validate` runs
  // Stdio upstream servers start now (unless the command started them), overlapping all that opens below.
  const earlyUpstreams = options.earlyUpstreams ?? startStdioUpstreams(config.connectors, baseDir);
  closers.push(() => earlyUpstreams.close());
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ level: env['PORTCULLIS_LOG_LEVEL'] ?? 'info' });
  const secrets = { env, baseDir };
  closers.push((await startConfiguredTelemetry(config.telemetry, env)).shutdown); // fails open, never affects calls
  const metrics = createMetrics();
  const activeCalls = createActiveCalls(); // counted by the pipeline, read by the audit file's writer
  const { sink: audit, recent: recentAudit } = await openGatewayAudit(config.audit, { metrics, logger, activeCalls });
  closers.push(() => audit.close());
  const stores = await openGatewayStores(config, { ...secrets, audit, logger });
  closers.push(() => stores.close());
  const issuerUrl = options.baseUrl ?? config.http.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`;
  const { keys, issuer } = await openCredentials(config.credentials, { issuerUrl, ...secrets });
  const stateSealingKey = await openStateSealingKey(config.credentials, secrets);
  const { store: policy, warnUnknownReferences } = await openPolicy(config, { audit, metrics, logger });
  closers.push(async () => policy.close());
  const guards = openGatewayEgress(config, { policy, audit, logger });
  closers.push(() => guards.close());
  // Approvals open before tasks (ending a task ends its grants), after egress (their webhook goes through it).
  const { queue, grants, close } = await openApprovals(config, { stores, audit, metrics, logger, egress: guards });
  closers.push(close);
  const { sessionTasks, taskService } = openTasks(config, { ...stores, grants, issuer, audit });
  const credentials = await createBackendCredentials({
    ...{ config: config.backendCredentials, issuer, audit, metrics, ...secrets },
    isJtiRevoked: (jti) => stores.revocation.isJtiRevoked(jti),
    tasksExpiry: sessionTasks.expiryOf,
  });
  const egress = { fetchFor: guards.fetchFor };
  const integrity = createToolIntegrity({ store: stores.pins, audit, firstSight: config.integrity.firstSight });
  const { catalog, connectors, resourceUpdates, connectorLogs, ...opened } = await openCatalog(config, {
    ...{ baseDir, logger, integrity, metrics, earlyUpstreams },
    catalogContext: catalogContextFor(egress, config.limits.catalogRequestTimeoutMs),
    upstreamFetch: (id) => credentials.upstreamFetch(id, guards.fetchFor({ connector: id })),
  });
  closers.push(opened.close);
  warnUnknownReferences(catalog);
  const pipeline = createGatewayPipeline(config, {
    ...{ catalog, policy, egress, audit, metrics, logger, approvals: { queue, grants } },
    ...{ credentials: credentials.provider, rateLimiter: stores.rateLimiter, tasks: sessionTasks.states },
    activeCalls,
  });
  const drain = createDrain(); // readiness fails, and new work is refused, from the start of a drain
  const readiness = gatewayReadiness(config, { audit, store: stores, policy, connectors, drain });
  const operator = {
    ...{ queue, grants, integrity, recentAudit, taskService, policy },
    ...{ tasks: stores.tasks, stores, lostApprovals: () => stores.lostApprovals() },
  };
  const apiKeyAgents = await apiKeyAgentsFrom(config, secrets);
  return {
    ...{ config, env, baseDir, logger, audit, metrics, stores, keys, issuer, sessionTasks, taskService },
    ...{ pipeline, catalog, egress, policy, apiKeyAgents, resourceUpdates, connectorLogs, operator, readiness },
    ...{ drain, revocation: stores.revocation, tasks: stores.tasks, stateSealingKey },
    sessionSlots: stores.sessionSlots(config.http.maxSessionsPerAgent),
    jwksFetch: guards.gatewayFetch(GATEWAY_DESTINATIONS.oauthJwks),
  };
}
