/** The HTTP application and the non-MCP HTTP APIs for agents and backends (tasks, introspection). */
export { readJsonBody } from './read-json.js';
export { startingResponder } from './starting.js';
export { createApp } from './app.js';
export { createTasksRouter, taskToJson } from './tasks-router.js';
export { createIntrospectionRouter } from './introspection-router.js';
export { createHealthRouter } from './health-route.js';
export { createMetricsRouter } from './metrics-route.js';
export { hostOriginCheck, hostOriginGuard, hostOriginRefusalBody } from './host-origin.js';
export { jsonRpcError, sendMcpError } from './mcp-errors.js';
export { sendJson } from './send-json.js';
export { errorMiddleware, sendCode, sendError } from './http-errors.js';
