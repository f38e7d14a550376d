/**
 * Verifies any token this gateway minted (task token or call credential) against its own key set, for
 * the introspection endpoint. The same explicit checks as the task token authenticator: pinned `alg`,
 * `kid` from our set, no embedded key headers, `typ`, `iss`, a single `aud` (the gateway for task tokens,
 * anything else for call credentials), `exp`, `iat` not in the future, `jti`, `sub`, `tid`.
 * Returns undefined for anything that does not verify; it never says why (introspection answers
 * `active: false` whatever the reason).
 */
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { CALL_CREDENTIAL_TYP, CLOCK_TOLERANCE_SECONDS, TASK_TOKEN_TYP } from '../../verify/index.js';
import type { KeySet } from './keys.js';

export interface OwnTokenClaims {
  kind: 'task' | 'call';
  iss: string;
  aud: string;
  sub: string;
  act?: { sub: string };
  tid: string;
  scope?: string;
  jti: string;
  iat: number;
  exp: number;
}

export type OwnTokenVerifier = (token: string) => Promise<OwnTokenClaims | undefined>;

const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'crit'];

export function createOwnTokenVerifier(options: {
  issuer: string;
  keys: KeySet;
  clockToleranceSeconds?: number;
  now?: () => number;
}): OwnTokenVerifier {
  const tolerance = options.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now;
  return async (token) => {
    try {
      const header = decodeProtectedHeader(token);
      if (FORBIDDEN_HEADERS.some((name) => name in header)) return undefined;
      const kind = header.typ === TASK_TOKEN_TYP ? 'task' : header.typ === CALL_CREDENTIAL_TYP ? 'call' : undefined;
      if (kind === undefined || typeof header.kid !== 'string') return undefined;
      const key = options.keys.verificationKey(header.kid);
      if (key === undefined || header.alg !== key.alg) return undefined;
      const { payload } = await jwtVerify(token, key.publicKey, {
        algorithms: [key.alg],
        issuer: options.issuer,
        typ: kind === 'task' ? TASK_TOKEN_TYP : CALL_CREDENTIAL_TYP,
        clockTolerance: tolerance,
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'tid'],
      });
      const { aud, sub, jti, iat, exp } = payload;
      const { tid, scope, act } = payload as Record<string, unknown>;
      if (typeof aud !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || typeof tid !== 'string')
        return undefined;
      if (typeof iat !== 'number' || typeof exp !== 'number' || iat > now() / 1000 + tolerance || exp <= iat)
        return undefined;
      if (kind === 'task' ? aud !== options.issuer : aud === options.issuer || typeof scope !== 'string')
        return undefined;
      const claims: OwnTokenClaims = { kind, iss: options.issuer, aud, sub, tid, jti, iat, exp };
      if (typeof scope === 'string') claims.scope = scope;
      if (act !== undefined) {
        const actor = (act as { sub?: unknown } | null)?.sub;
        if (typeof actor !== 'string') return undefined;
        claims.act = { sub: actor };
      }
      return claims;
    } catch {
      return undefined;
    }
  };
}
