/**
 * The catalog from the configuration: every configured connector opened, its tools screened by the
 * integrity check, the first listing loaded, and the metrics told which names are the catalog's (agents
 * choose the names they send: only the catalog's become label values). `close` closes the catalog and the
 * connectors.
 */
import type { CatalogContext, Connector, FetchLike } from '../../../connectors/contract.js';
import type { GatewayConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/index.js';
import type { ToolIntegrity } from '../integrity/index.js';
import type { Metrics } from '../metrics/index.js';
import { createCatalog, type Catalog } from './catalog.js';
import { createConnectorLogs, type ConnectorLogs } from './connector-logs.js';
import type { EarlyUpstreams } from './early-upstreams.js';
import { openConnectors } from './open-connectors.js';
import { createResourceUpdates, type ResourceUpdates } from './resource-updates.js';

export interface OpenedCatalog {
  catalog: Catalog;
  connectors: readonly Connector[];
  /** Upstream `notifications/resources/updated`, for the sessions that listen. */
  resourceUpdates: ResourceUpdates;
  /** What upstreams log outside any call, for the sessions that set a log level. */
  connectorLogs: ConnectorLogs;
  close(): Promise<void>;
}

export async function openCatalog(
  config: GatewayConfig,
  deps: {
    baseDir: string;
    logger: Logger;
    /** The fetch an upstream MCP server over HTTP is reached with (egress guard, hygiene, credential). */
    upstreamFetch: (connectorId: string) => FetchLike;
    /** Context for listing calls of one connector (its egress-scoped fetch). */
    catalogContext: (connector: Connector) => CatalogContext;
    integrity: Pick<ToolIntegrity, 'screen'>;
    metrics: Pick<Metrics, 'limitToolLabels'>;
    /** Stdio upstreams started ahead (early-upstreams.ts). */
    earlyUpstreams?: EarlyUpstreams;
  },
): Promise<OpenedCatalog> {
  const resourceUpdates = createResourceUpdates();
  const connectorLogs = createConnectorLogs();
  const connectors = await openConnectors(config.connectors, {
    baseDir: deps.baseDir,
    logger: deps.logger,
    onResourceUpdated: resourceUpdates.emit,
    onConnectorLog: (connectorId, message) => {
      deps.logger.debug({ connector: connectorId, level: message.level }, 'upstream log message');
      connectorLogs.emit(connectorId, message);
    },
    maxMessageBytes: config.egress.maxResponseBytes,
    upstreamFetch: deps.upstreamFetch,
    ...(deps.earlyUpstreams !== undefined ? { earlyUpstreams: deps.earlyUpstreams } : {}),
  });
  const closeConnectors = async () => void (await Promise.all(connectors.map((c) => c.close().catch(() => undefined))));
  const catalog = createCatalog({
    connectors,
    catalogContext: deps.catalogContext,
    onWarning: (w) => deps.logger.warn({ connector: w.connector }, w.message),
    screen: (connector, tools, names) => deps.integrity.screen(connector.id, tools, names),
  });
  try {
    await catalog.refresh();
  } catch (error) {
    catalog.close();
    await closeConnectors();
    throw error;
  }
  deps.metrics.limitToolLabels(
    (tool) => catalog.resolveTool(tool) !== undefined,
    (prompt) => catalog.resolvePrompt(prompt) !== undefined,
  );
  return {
    catalog,
    connectors,
    resourceUpdates,
    connectorLogs,
    async close() {
      catalog.close();
      await closeConnectors();
    },
  };
}
