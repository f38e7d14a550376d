/**
 * `GET /healthz`: whether the gateway can serve (200 `{ ok: true }`, else 503 `{ ok: false }`) for anyone,
 * and the details (version, policy file paths and status, stores, session counts, ...) only for an operator.
 * Load balancers and orchestrators probe without credentials; the details describe the deployment and are
 * not for whoever reaches the port.
 *
 * A request without `Authorization` gets the status only. A request with it must carry a valid operator
 * token (any role), or it is answered 401, so a mistyped token is not mistaken for "no details exist".
 */
import express, { type Request, type Router } from 'express';

export interface HealthRouteOptions {
  health: () => Record<string, unknown> & { ok: boolean };
  /** Accepts an operator's request (returns) or refuses it (throws); only called when credentials are sent. */
  authorizeDetails: (req: Request) => void;
}

export function createHealthRouter(options: HealthRouteOptions): Router {
  const router = express.Router();
  router.get('/healthz', (req, res) => {
    res.set('cache-control', 'no-store');
    if (req.headers.authorization !== undefined) {
      try {
        options.authorizeDetails(req);
      } catch {
        res
          .status(401)
          .set('WWW-Authenticate', 'Bearer realm="portcullis-operator"')
          .json({ error: { code: 'UNAUTHENTICATED', message: 'health details need an operator token' } });
        return;
      }
      const health = options.health();
      res.status(health.ok ? 200 : 503).json(health);
      return;
    }
    const { ok } = options.health();
    res.status(ok ? 200 : 503).json({ ok });
  });
  return router;
}
