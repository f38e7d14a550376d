export { createMcpConnector } from './connector.js';
export type { McpConnector, McpConnectorDeps, McpConnectorState, McpConnectorStatus } from './connector.js';
export { McpConnectorConfigSchema, McpHttpConfigSchema, McpRestartSchema, McpStdioConfigSchema } from './config.js';
export type {
  McpConnectorConfig,
  McpConnectorConfigInput,
  McpHttpConfig,
  McpRestartConfig,
  McpStdioConfig,
} from './config.js';
export {
  checkParamHeaders,
  HEADER_MISMATCH,
  paramHeaderDeclarations,
  paramHeaders,
  type ParamHeaderDeclaration,
  type ParamHeaderMismatch,
} from './param-headers.js';
export { startEarlyStdioChild, type EarlyStdioChild, type StdioSpawnOptions } from './stdio-child.js';
export { stdioSpawnOptions } from './transport.js';
