/**
 * Serves the operator console (static files, no build step) at /console. The page holds no data of its own:
 * it asks the operator for a token and uses the operator API with it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

const CONSOLE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'console');

export function createConsoleRouter(): Router {
  const router = express.Router();
  router.use('/console', (_req, res, next) => {
    res.set({
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    next();
  });
  router.get('/console', (req, res, next) =>
    req.originalUrl === '/console' ? res.redirect(301, '/console/') : next(),
  );
  router.use('/console', express.static(CONSOLE_DIR, { index: 'index.html', fallthrough: false }));
  return router;
}
