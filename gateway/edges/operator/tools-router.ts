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
import { GatewayError, isErrorCode } from '../../kernel/index.js';
import { sendError } from '../http/index.js';

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
    } catch (error) {
      sendError(res, storeFailure(error));
    }
  });
  router.post(
    '/v1/tools/pins/:connector/:tool/approve',
    options.operatorAuth.require('approver'),
    express.json({ limit: '4kb' }),
    async (req, res) => {
      const body = ApproveBodySchema.safeParse(req.body ?? {});
      if (!body.success) return void sendError(res, body.error);
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
        sendError(res, error instanceof PinError ? error : storeFailure(error));
      }
    },
  );
  return router;
}

/** The pin store's own failures (Redis) carry no code: they are an outage of that store, and say so. */
function storeFailure(error: unknown): unknown {
  return isErrorCode((error as { code?: unknown } | null)?.code)
    ? error
    : new GatewayError('STORE_UNAVAILABLE', 'pin store unavailable', undefined, { cause: error });
}
