/** The operator HTTP API and console: approvals, tools, credentials, agents, tasks, recent decisions, health. */
export { createConsoleRouter } from './console-router.js';
export { createOperatorAuthenticator, type OperatorAuthenticator } from './operator-auth.js';
export { createToolsRouter } from './tools-router.js';
export { credentialsRouter } from './credentials-router.js';
export { createApprovalsRouter } from './approvals-router.js';
export { createAgentsRouter, type AgentsRouterOptions } from './agents-router.js';
export { createOperatorRouters, type OperatorRoutersOptions } from './routers.js';
export { createOperatorTasksRouter } from './operator-tasks-router.js';
export { createAuditRouter } from './audit-router.js';
export { createHealthRouter, operatorHealth, type OperatorHealthSources } from './health-router.js';
