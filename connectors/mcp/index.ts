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
