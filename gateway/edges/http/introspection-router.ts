/**
 * The gateway's RFC 7662 token introspection endpoint, `POST /oauth/introspect`, for backends that want
 * to know whether a call credential is still active before it expires. Mounted by the composition root
 * (this module is gateway-side and is not part of the `portcullis/verify` entry point).
 *
 * Clients authenticate with HTTP Basic (client_secret_basic) or form fields (client_secret_post), never
 * both; secrets are held as sha256 digests and compared in constant time. A client limited to
 * `audiences` only learns about credentials minted for those audiences. Anything that does not verify,
 * is revoked, belongs to an ended task or a disabled agent, or is out of the client's audiences, is
 * `{ active: false }` with no reason. Store trouble also answers `{ active: false }` (fail closed).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { OwnTokenClaims, OwnTokenVerifier } from '../../services/credentials/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import { credentialForScheme } from '../../services/auth/index.js';
import { isStoreUnavailable } from '../../kernel/index.js';

export interface IntrospectionClient {
  id: string;
  /** Hex sha256 of the client secret. */
  secretSha256: string;
  /** Audiences this client may introspect; omitted = all call credentials. */
  audiences?: readonly string[];
}

export interface IntrospectionRouterOptions {
  verifyOwnToken: OwnTokenVerifier;
  revocation: RevocationStore;
  clients: readonly IntrospectionClient[];
}

function digestMatches(secret: string, expectedHex: string): boolean {
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  const expected = Buffer.from(expectedHex, 'hex');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

function clientCredentials(req: Request): { id: string; secret: string } | undefined {
  const header = req.headers.authorization;
  const body = (req.body ?? {}) as Record<string, unknown>;
  const inBody = body['client_id'] !== undefined || body['client_secret'] !== undefined;
  if (typeof header === 'string') {
    if (inBody) return undefined;
    const basic = credentialForScheme(header, 'Basic');
    if (basic === undefined) return undefined;
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    try {
      return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
    } catch {
      return undefined;
    }
  }
  if (typeof body['client_id'] === 'string' && typeof body['client_secret'] === 'string') {
    return { id: body['client_id'], secret: body['client_secret'] };
  }
  return undefined;
}

async function isActive(claims: OwnTokenClaims, revocation: RevocationStore): Promise<boolean> {
  try {
    const [revoked, ended, disabled] = await Promise.all([
      revocation.isJtiRevoked(claims.jti),
      revocation.isTaskEnded(claims.tid),
      revocation.isAgentDisabled(claims.act?.sub ?? claims.sub),
    ]);
    return !revoked && !ended && !disabled;
  } catch (error) {
    // An outage is answered as one (503), not as "inactive": the resource server may retry.
    if (isStoreUnavailable(error)) throw error;
    return false;
  }
}

export function createIntrospectionRouter(options: IntrospectionRouterOptions): Router {
  const router = express.Router();
  const clients = new Map(options.clients.map((c) => [c.id, c]));

  router.post(
    '/oauth/introspect',
    express.urlencoded({ extended: false, limit: '16kb' }),
    async (req: Request, res: Response) => {
      res.setHeader('Cache-Control', 'no-store');
      const credentials = clientCredentials(req);
      const client = credentials === undefined ? undefined : clients.get(credentials.id);
      if (
        credentials === undefined ||
        client === undefined ||
        !digestMatches(credentials.secret, client.secretSha256)
      ) {
        res.setHeader('WWW-Authenticate', 'Basic realm="portcullis-introspection"');
        res.status(401).json({ error: 'invalid_client' });
        return;
      }
      const token = (req.body as Record<string, unknown> | undefined)?.['token'];
      if (typeof token !== 'string' || token === '') {
        res.status(400).json({ error: 'invalid_request' });
        return;
      }
      const claims = await options.verifyOwnToken(token);
      let allowed: boolean;
      try {
        allowed =
          claims !== undefined &&
          claims.kind === 'call' &&
          (client.audiences === undefined || client.audiences.includes(claims.aud)) &&
          (await isActive(claims, options.revocation));
      } catch {
        res.status(503).set('Retry-After', '5').json({ error: 'temporarily_unavailable' });
        return;
      }
      if (!allowed || claims === undefined) {
        res.json({ active: false });
        return;
      }
      res.json({
        active: true,
        token_type: 'Bearer',
        client_id: client.id,
        iss: claims.iss,
        aud: claims.aud,
        sub: claims.sub,
        ...(claims.act !== undefined ? { act: claims.act } : {}),
        ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
        tid: claims.tid,
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
      });
    },
  );

  router.use('/oauth/introspect', (_error: unknown, _req: Request, res: Response, _next: (e?: unknown) => void) => {
    res.status(400).json({ error: 'invalid_request' });
  });
  return router;
}
