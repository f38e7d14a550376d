/**
 * Operator API for tool integrity:
 *
 *   GET  /v1/tools/pins                               every pinned tool, with quarantined ones and their diff
 *   POST /v1/tools/pins/:connector/:tool/approve { hash }   trust the pending definition the operator reviewed
 *
 * Approving re-lists the connector so the tool becomes visible at once.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { PinError, type ToolIntegrity } from '../../services/integrity/index.js';
import type { Catalog } from '../../services/catalog/index.js';
import type { Operator, OperatorAuthenticator } from './operator-auth.js';

const ApproveBodySchema = z
  .object({ hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the pending definition hash') })
  .strict();

export function createToolsRouter(options: {
  integrity: ToolIntegrity;
  catalog: Catalog;
  operatorAuth: OperatorAuthenticator;
}): Router {
  const router = express.Router();
  router.get('/v1/tools/pins', options.operatorAuth.require('viewer'), async (_req, res) => {
    try {
      res.json({ pins: await options.integrity.list() });
    } catch {
      res.status(503).json({ error: { code: 'STORE_UNAVAILABLE', message: 'pin store unavailable' } });
    }
  });
  router.post(
    '/v1/tools/pins/:connector/:tool/approve',
    options.operatorAuth.require('approver'),
    express.json({ limit: '4kb' }),
    async (req, res) => {
      const body = ApproveBodySchema.safeParse(req.body ?? {});
      if (!body.success)
        return void res
          .status(400)
          .json({ error: { code: 'BAD_REQUEST', message: body.error.issues[0]?.message ?? 'bad request' } });
      const operator = res.locals['operator'] as Operator;
      try {
        const record = await options.integrity.approve(
          String(req.params['connector']),
          String(req.params['tool']),
          body.data.hash,
          operator.id,
        );
        await options.catalog.refresh(record.connector);
        res.json(record);
      } catch (error) {
        if (error instanceof PinError) {
          const status = { NOT_FOUND: 404, NOT_QUARANTINED: 409, HASH_MISMATCH: 409 }[error.code];
          return void res.status(status).json({ error: { code: error.code, message: error.message } });
        }
        res.status(503).json({ error: { code: 'STORE_UNAVAILABLE', message: 'pin store unavailable' } });
      }
    },
  );
  return router;
}
