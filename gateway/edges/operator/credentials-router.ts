/**
 * Kill switch for one credential: `POST /v1/credentials/:jti/revoke` (operator role `admin`). The jti is
 * refused on the next use on every instance (task tokens by the gateway, call credentials by backends that
 * introspect), and this instance stops reusing it at once.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { appendBestEffort, type AuditSink } from '../../services/audit/index.js';
import { GatewayError } from '../../kernel/index.js';
import { sendCode, sendError } from '../http/index.js';
import type { CredentialIssuer } from '../../services/credentials/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
// Revocations outlive every credential the gateway can mint (elevated call credentials: 15 minutes; task
// tokens: their task); a rebuild after store loss restores them for the same time.
import { REVOCATION_TTL_MS } from '../../services/recovery/index.js';
import type { Operator, OperatorAuthenticator } from './operator-auth.js';

const BodySchema = z.object({ reason: z.string().max(500).optional() }).strict();

export function credentialsRouter(options: {
  revocation: RevocationStore;
  issuer: CredentialIssuer;
  audit: AuditSink;
  operatorAuth: OperatorAuthenticator;
}): Router {
  const router = express.Router();
  router.post(
    '/v1/credentials/:jti/revoke',
    options.operatorAuth.require('admin'),
    express.json({ limit: '4kb' }),
    async (req, res) => {
      const jti = String(req.params['jti']);
      const body = BodySchema.safeParse(req.body ?? {});
      if (!/^[A-Za-z0-9_-]{8,128}$/.test(jti) || !body.success) {
        return void sendCode(res, 'INVALID_REQUEST', 'expected a jti and an optional reason');
      }
      try {
        await options.revocation.revokeJti(jti, Date.now() + REVOCATION_TTL_MS);
      } catch (error) {
        // The revocation store's own failures: an outage of that store (nothing was revoked).
        return void sendError(
          res,
          new GatewayError('STORE_UNAVAILABLE', 'the revocation could not be recorded', undefined, { cause: error }),
        );
      }
      options.issuer.forgetCredential(jti);
      const operator = res.locals['operator'] as Operator;
      await appendBestEffort(options.audit, {
        event: 'credential.revoke',
        jti,
        actor: operator.id,
        ...(body.data.reason !== undefined ? { reason: body.data.reason } : {}),
      });
      res.json({ jti, revoked: true });
    },
  );
  return router;
}
