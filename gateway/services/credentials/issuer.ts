/**
 * Mints the gateway's two kinds of token (see claims.ts): task tokens for agents, and call credentials
 * for backends, each scoped to one audience and one operation and never outliving its task.
 *
 * Signing is the expensive part of a call, so a call credential is reused for the same (task, agent,
 * audience, scope, elevated, on-behalf-of) until `reuseMarginSeconds` before it expires; the backend then
 * always receives a credential with at least that much life left. The cache is per process, bounded, and
 * dropped per task when the task ends (`forgetTask`) or per credential when its jti is revoked
 * (`forgetCredential`).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type JSONWebKeySet } from 'jose';
import { CALL_CREDENTIAL_TYP, SCOPE_PATTERN, TASK_TOKEN_TYP } from '../../verify/index.js';
import type { KeySet } from './keys.js';
import { Secret } from '../../kernel/index.js';
import type { ErrorCode } from '../../kernel/index.js';

export const MAX_CALL_TTL_SECONDS = 300;
export const MAX_ELEVATED_TTL_SECONDS = 900;

export type CredentialErrorCode = Extract<ErrorCode, 'INVALID_CREDENTIAL_REQUEST' | 'TASK_ENDED'>;

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CredentialIssuerOptions {
  /** The gateway's public URL: `iss` of everything minted and `aud` of task tokens. */
  issuer: string;
  keys: KeySet;
  now?: () => number;
  /** Lifetime of ordinary call credentials (default and cap 300 s). */
  callTtlSeconds?: number;
  /** Lifetime of credentials for approved (elevated) calls (default and cap 900 s). */
  elevatedTtlSeconds?: number;
  /** A cached credential is reused until this long before it expires (default 30 s). */
  reuseMarginSeconds?: number;
  /** Bound of the reuse cache (default 10 000 entries, least recently used evicted). */
  maxCachedCredentials?: number;
}

export interface MintedToken {
  token: Secret;
  jti: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface MintedCallCredential extends MintedToken {
  /** True when a cached credential was handed out instead of signing a new one. */
  reused: boolean;
}

export interface TaskTokenRequest {
  taskId: string;
  agentId: string;
  tenant?: string;
  ttlSeconds: number;
}

export interface CallCredentialRequest {
  taskId: string;
  agentId: string;
  /** The one backend this credential is for (its configured audience, usually its base URL). */
  audience: string;
  /** `METHOD /canonical/path` or `tool:NAME`. */
  scope: string;
  elevated?: boolean;
  /** User the agent acts for; becomes `sub`, with the agent as `act.sub`. */
  onBehalfOf?: string;
  /** Epoch ms the task ends; the credential never outlives it. */
  notAfter?: number;
}

export interface CredentialIssuer {
  readonly issuer: string;
  mintTaskToken(request: TaskTokenRequest): Promise<MintedToken>;
  mintCallCredential(request: CallCredentialRequest): Promise<MintedCallCredential>;
  /** Drop every cached call credential of a task (call when the task ends). */
  forgetTask(taskId: string): void;
  /** Drop a cached call credential by jti (call when that jti is revoked). */
  forgetCredential(jti: string): void;
  /** Public keys for `/.well-known/jwks.json`. */
  jwks(): JSONWebKeySet;
}

interface CachedCredential {
  taskId: string;
  minted: MintedToken;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new CredentialError('INVALID_CREDENTIAL_REQUEST', `${name} must be a positive integer`);
  return value;
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw new CredentialError('INVALID_CREDENTIAL_REQUEST', `${name} must be a non-empty string`);
  }
  return value;
}

export function createCredentialIssuer(options: CredentialIssuerOptions): CredentialIssuer {
  const issuer = nonEmpty('issuer', options.issuer);
  const now = options.now ?? Date.now;
  const callTtl = Math.min(
    positiveInt('callTtlSeconds', options.callTtlSeconds ?? MAX_CALL_TTL_SECONDS),
    MAX_CALL_TTL_SECONDS,
  );
  const elevatedTtl = Math.min(
    positiveInt('elevatedTtlSeconds', options.elevatedTtlSeconds ?? MAX_ELEVATED_TTL_SECONDS),
    MAX_ELEVATED_TTL_SECONDS,
  );
  const reuseMarginMs = (options.reuseMarginSeconds ?? 30) * 1000;
  const maxCached = options.maxCachedCredentials ?? 10_000;
  const cache = new Map<string, CachedCredential>();

  async function sign(
    typ: string,
    claims: Record<string, unknown>,
    audience: string,
    iat: number,
    exp: number,
  ): Promise<MintedToken> {
    const key = options.keys.signingKey();
    const jti = randomUUID();
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, typ, kid: key.kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key.privateKey);
    return { token: new Secret(token), jti, expiresAt: exp * 1000 };
  }

  return {
    issuer,

    async mintTaskToken(request) {
      const taskId = nonEmpty('taskId', request.taskId);
      const agentId = nonEmpty('agentId', request.agentId);
      const ttl = positiveInt('ttlSeconds', request.ttlSeconds);
      const iat = Math.floor(now() / 1000);
      const claims: Record<string, unknown> = { sub: agentId, tid: taskId };
      if (request.tenant !== undefined) claims['ten'] = nonEmpty('tenant', request.tenant);
      return sign(TASK_TOKEN_TYP, claims, issuer, iat, iat + ttl);
    },

    async mintCallCredential(request) {
      const taskId = nonEmpty('taskId', request.taskId);
      const agentId = nonEmpty('agentId', request.agentId);
      const audience = nonEmpty('audience', request.audience);
      if (audience === issuer) {
        throw new CredentialError(
          'INVALID_CREDENTIAL_REQUEST',
          'a call credential cannot name the gateway as its audience',
        );
      }
      const scope = nonEmpty('scope', request.scope);
      if (!SCOPE_PATTERN.test(scope)) {
        throw new CredentialError('INVALID_CREDENTIAL_REQUEST', 'scope must be "METHOD /path" or "tool:NAME"');
      }
      const elevated = request.elevated === true;
      const onBehalfOf = request.onBehalfOf === undefined ? undefined : nonEmpty('onBehalfOf', request.onBehalfOf);
      const cacheKey = JSON.stringify([taskId, agentId, audience, scope, elevated, onBehalfOf ?? null]);
      const t = now();

      const cached = cache.get(cacheKey);
      if (cached !== undefined) {
        cache.delete(cacheKey);
        const notAfterOk = request.notAfter === undefined || cached.minted.expiresAt <= request.notAfter;
        if (cached.minted.expiresAt - reuseMarginMs > t && notAfterOk) {
          cache.set(cacheKey, cached);
          return { ...cached.minted, reused: true };
        }
      }

      const iat = Math.floor(t / 1000);
      let exp = iat + (elevated ? elevatedTtl : callTtl);
      if (request.notAfter !== undefined) exp = Math.min(exp, Math.floor(request.notAfter / 1000));
      if (exp <= iat) throw new CredentialError('TASK_ENDED', 'the task has ended');

      const claims: Record<string, unknown> = { sub: onBehalfOf ?? agentId, tid: taskId, scope };
      if (onBehalfOf !== undefined) claims['act'] = { sub: agentId };
      if (elevated) claims['elv'] = true;
      const minted = await sign(CALL_CREDENTIAL_TYP, claims, audience, iat, exp);

      cache.set(cacheKey, { taskId, minted });
      while (cache.size > maxCached) {
        const oldest = cache.keys().next();
        if (oldest.done === true) break;
        cache.delete(oldest.value);
      }
      return { ...minted, reused: false };
    },

    forgetTask(taskId) {
      for (const [key, entry] of cache) if (entry.taskId === taskId) cache.delete(key);
    },

    forgetCredential(jti) {
      for (const [key, entry] of cache) if (entry.minted.jti === jti) cache.delete(key);
    },

    jwks: () => options.keys.jwks(),
  };
}
