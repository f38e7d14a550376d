/**
 * The gateway's HTTP application: MCP front door, health, and the operator/agent APIs mounted by the
 * composition root. Error responses are JSON with a stable code; nothing internal leaks into them.
 */
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import type { ReadinessReport } from '../../services/health/index.js';
import { hostOriginGuard, type HostOriginOptions } from './host-origin.js';
import { createHealthRouter, type HealthRouteOptions } from './health-route.js';
import { errorMiddleware, sendCode } from './http-errors.js';
import { sendMcpError } from './mcp-errors.js';

export interface AppOptions {
  hostOrigin: HostOriginOptions;
  mcpRouter: Router;
  /** `/healthz` (ok only when ready): status for anyone, details for operators. */
  health: HealthRouteOptions['health'];
  authorizeHealthDetails: HealthRouteOptions['authorizeDetails'];
  /** `/readyz`: 200 when ready, else 503 with the failing checks (details for operators). */
  readiness: () => ReadinessReport;
  /** Extra routers (operator API, tasks, JWKS...), mounted after the MCP edge. */
  routers?: readonly Router[];
  onError?: (error: unknown) => void;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(hostOriginGuard(options.hostOrigin));
  // Liveness: the process answers. Never depends on the store, the audit log or a backend.
  app.get('/livez', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'live' });
  });
  // Health and readiness: status (and which checks fail) for anyone; details for an operator token.
  app.use(
    createHealthRouter({
      health: options.health,
      readiness: options.readiness,
      authorizeDetails: options.authorizeHealthDetails,
    }),
  );
  app.use(options.mcpRouter);
  for (const router of options.routers ?? []) app.use(router);
  app.use((_req, res) => sendCode(res, 'NOT_FOUND', 'not found'));
  // The MCP endpoint answers in JSON-RPC; every other path through the one HTTP error mapper.
  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
    if (req.path !== '/mcp') return errorMiddleware(options.onError)(error, req, res, next);
    sendMcpError(res, error, options.onError);
  };
  app.use(errorHandler);
  return app;
}
