/** The MCP edge: the gateway's MCP server and its Streamable HTTP endpoint. */
export { createMcpHttpEdge } from './http-edge.js';
export { createGatewayMcpServer } from './server.js';
export type { McpSession } from './session.js';
export { principalForStdio, serveStdio, type StdioSessionOptions } from './stdio.js';
export { connectionMetricAttributes, timeOperations, type McpOperationMetrics } from './operation-metrics.js';
