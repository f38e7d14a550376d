/**
 * `GET /metrics` (Prometheus exposition), optionally behind a bearer token: the labels name tools, rules,
 * connectors and error codes, which describe the deployment. With a token configured, a scrape without
 * `Authorization: Bearer <token>` (scheme in any case) or with another token is answered 401. The token is
 * held as a sha256 digest and compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { sendCode } from './http-errors.js';
import express, { type RequestHandler, type Router } from 'express';
import { credentialForScheme } from '../../services/auth/index.js';

export interface MetricsRouteOptions {
  handler: RequestHandler;
  /** Hex sha256 of the scrape token; omitted = no token asked. */
  tokenSha256?: string;
}

export function createMetricsRouter(options: MetricsRouteOptions): Router {
  const router = express.Router();
  const expected = options.tokenSha256 === undefined ? undefined : Buffer.from(options.tokenSha256, 'hex');
  router.get('/metrics', (req, res, next) => {
    if (expected !== undefined) {
      const header = req.headers.authorization;
      const token = typeof header === 'string' ? credentialForScheme(header, 'Bearer') : undefined;
      const actual = token === undefined ? undefined : createHash('sha256').update(token, 'utf8').digest();
      if (actual === undefined || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        res.set('WWW-Authenticate', 'Bearer realm="portcullis-metrics"');
        return sendCode(res, 'UNAUTHENTICATED', 'metrics need the metrics token');
      }
    }
    options.handler(req, res, next);
  });
  return router;
}
