/** The tool catalog: connectors' tools under their exposed names, refreshed and pinned. */
export { type Catalog, type CatalogTool, createCatalog } from './catalog.js';
export { openConnectors, type OpenConnectorsOptions } from './open-connectors.js';
export { createResourceUpdates, type ResourceUpdates } from './resource-updates.js';
export { openCatalog, type OpenedCatalog } from './open-catalog.js';
export { createConnectorLogs, type ConnectorLogListener, type ConnectorLogs } from './connector-logs.js';
export { startStdioUpstreams, type EarlyUpstreams } from './early-upstreams.js';
