/** The operator HTTP API and console: approvals, tools, credentials, agents. */
export { createConsoleRouter } from './console-router.js';
export { createOperatorAuthenticator, type OperatorAuthenticator } from './operator-auth.js';
export { createToolsRouter } from './tools-router.js';
export { credentialsRouter } from './credentials-router.js';
export { createApprovalsRouter } from './approvals-router.js';
export { createAgentsRouter, type AgentsRouterOptions } from './agents-router.js';
export { createOperatorRouters, type OperatorRoutersOptions } from './routers.js';
