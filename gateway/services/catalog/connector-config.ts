import type { McpConnectorConfig } from '../../../connectors/mcp/index.js';

/** An MCP connector's configuration as it runs: a stdio child starts in the configuration's folder by default. */
export function connectorConfigIn<C extends McpConnectorConfig>(config: C, baseDir: string): C {
  return config.transport === 'stdio' && config.cwd === undefined ? { ...config, cwd: baseDir } : config;
}
