/**
 * The gateway's HTTP application: MCP front door, health, and the operator/agent APIs mounted by the
 * composition root. Error responses are JSON with a stable code; nothing internal leaks into them.
 */
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import { hostOriginGuard, type HostOriginOptions } from './host-origin.js';
import { createHealthRouter, type HealthRouteOptions } from './health-route.js';

export interface AppOptions {
  hostOrigin: HostOriginOptions;
  mcpRouter: Router;
  /** `/healthz`: status for anyone, details for operators. */
  health: HealthRouteOptions['health'];
  authorizeHealthDetails: HealthRouteOptions['authorizeDetails'];
  /** Extra routers (operator API, tasks, JWKS...), mounted after the MCP edge. */
  routers?: readonly Router[];
  onError?: (error: unknown) => void;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(hostOriginGuard(options.hostOrigin));
  app.use(createHealthRouter({ health: options.health, authorizeDetails: options.authorizeHealthDetails }));
  app.use(options.mcpRouter);
  for (const router of options.routers ?? []) app.use(router);
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'not found' } });
  });
  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const status =
      typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    if (status >= 500) options.onError?.(error);
    if (res.headersSent) return;
    const isMcp = req.path === '/mcp';
    const type = (error as { type?: unknown }).type;
    if (status === 413) {
      res
        .status(413)
        .json(
          isMcp
            ? rpcError(-32600, 'Request body too large')
            : { error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body too large' } },
        );
    } else if (status === 415) {
      res
        .status(415)
        .json(
          isMcp
            ? rpcError(-32600, 'Unsupported Media Type: expected application/json')
            : { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'expected application/json' } },
        );
    } else if (type === 'entity.parse.failed') {
      res
        .status(400)
        .json(isMcp ? rpcError(-32700, 'Parse error') : { error: { code: 'BAD_REQUEST', message: 'invalid JSON' } });
    } else if (status < 500) {
      res
        .status(status)
        .json(
          isMcp ? rpcError(-32600, 'Invalid request') : { error: { code: 'BAD_REQUEST', message: 'invalid request' } },
        );
    } else {
      res
        .status(500)
        .json(isMcp ? rpcError(-32603, 'Internal error') : { error: { code: 'INTERNAL', message: 'internal error' } });
    }
  };
  app.use(errorHandler);
  return app;
}

function rpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}
