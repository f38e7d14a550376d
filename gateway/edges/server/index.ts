/** The gateway's HTTP server: every HTTP edge (MCP, agent APIs, operator API and console) on one app. */
export { createHttpServer, type HttpServerParts } from './http-server.js';
export { closeServer, listenOn } from './listen.js';
export { serveStdioSession, type StdioServerParts } from './stdio-server.js';
