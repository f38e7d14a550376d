/**
 * Health endpoints: whether the gateway can serve, for anyone; the details only for an operator.
 * Load balancers and orchestrators probe without credentials; the details (version, policy file paths and
 * status, stores, session counts, per-component readiness) describe the deployment and are not for whoever
 * reaches the port.
 *
 *   GET /healthz   200 `{ ok: true }` or 503 `{ ok: false }`; an operator gets the full health object
 *   GET /readyz    (when a readiness source is given) 200 `{ status: 'ready' }` or 503
 *                  `{ status: 'not ready', reason }` where `reason` names the failing checks only; an
 *                  operator gets the full reason (with what each check reported) and `details`
 *
 * A request without `Authorization` gets the status only. A request with it must carry a valid operator
 * token (any role), or it is answered 401, so a mistyped token is not mistaken for "no details exist".
 */
import { sendCode } from './http-errors.js';
import express, { type Request, type Response, type Router } from 'express';

export interface Readiness {
  ready: boolean;
  /** Full reason when not ready; operators only. */
  reason?: string;
  /** The failing checks by name only; shown to anyone. */
  summary?: string;
  /** Per-component state; operators only. */
  details?: unknown;
}

export interface HealthRouteOptions {
  health: () => Record<string, unknown> & { ok: boolean };
  /** Serves `/readyz` when given. */
  readiness?: () => Readiness;
  /** Accepts an operator's request (returns) or refuses it (throws); only called when credentials are sent. */
  authorizeDetails: (req: Request) => void;
}

export function createHealthRouter(options: HealthRouteOptions): Router {
  const router = express.Router();

  /** True when details may be shown; answers 401 itself (and returns undefined) for bad credentials. */
  const detailsAllowed = (req: Request, res: Response): boolean | undefined => {
    res.set('cache-control', 'no-store');
    if (req.headers.authorization === undefined) return false;
    try {
      options.authorizeDetails(req);
      return true;
    } catch {
      res.set('WWW-Authenticate', 'Bearer realm="portcullis-operator"');
      sendCode(res, 'UNAUTHENTICATED', 'health details need an operator token');
      return undefined;
    }
  };

  router.get('/healthz', (req, res) => {
    const details = detailsAllowed(req, res);
    if (details === undefined) return;
    const health = options.health();
    res.status(health.ok ? 200 : 503).json(details ? health : { ok: health.ok });
  });

  const readiness = options.readiness;
  if (readiness !== undefined) {
    router.get('/readyz', (req, res) => {
      const details = detailsAllowed(req, res);
      if (details === undefined) return;
      const report = readiness();
      const status = report.ready ? 'ready' : 'not ready';
      res.status(report.ready ? 200 : 503).json(
        details
          ? {
              status,
              ...(report.reason !== undefined ? { reason: report.reason } : {}),
              ...(report.details !== undefined ? { details: report.details } : {}),
            }
          : { status, ...(report.summary !== undefined ? { reason: report.summary } : {}) },
      );
    });
  }
  return router;
}
