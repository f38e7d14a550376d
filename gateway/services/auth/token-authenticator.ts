/**
 * Authenticates agents presenting a task token (see gateway/credentials/claims.ts).
 *
 * A bearer is "ours" when it is a JWT whose header says `typ: portcullis-task+jwt` or whose `iss` is this
 * gateway; anything else returns undefined so other authenticators (API keys, OAuth) may try. Ours means
 * it must pass every check below or the request is refused; it never falls through.
 *
 * Checks, all explicit: `alg` one of the key set's algorithms (so `none` and HMAC are refused), no
 * embedded key material (`jwk`, `jku`, `x5u`, `x5c`) and no `crit`, `kid` naming a key of our own set,
 * the signature, `typ`, `iss`, `aud` exactly this gateway (a single string), `exp`, `nbf` when present,
 * `iat` not in the future and `exp - iat` within the longest TTL we issue, `jti`, `sub` and `tid` present;
 * 30 s clock tolerance. Then, every time: the task exists, is live and belongs to the token's subject (and
 * tenant), the agent is not disabled, the jti is not revoked. Signature results are cached until `exp`
 * (bounded LRU, keyed by a digest of the token); task state and revocation are never cached.
 */
import { hash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { CLOCK_TOLERANCE_SECONDS, TASK_TOKEN_TYP } from '../../verify/index.js';
import type { KeySet } from '../credentials/index.js';
import type { RevocationStore } from '../revocation/index.js';
import { isTaskLive, type TaskStore } from '../tasks/index.js';
import {
  AuthError,
  isStoreUnavailable,
  type Authenticator,
  type AuthRequest,
  type Principal,
} from '../../kernel/index.js';
import { verifiedTokens } from './verified-tokens.js';

export interface AgentProfile {
  roles: readonly string[];
  tenant?: string;
  environment?: string;
}

export interface TaskTokenAuthenticatorOptions {
  /** This gateway's issuer URL (as given to the credential issuer). */
  issuer: string;
  keys: KeySet;
  revocation: RevocationStore;
  /**
   * The task store: a token is only accepted when its task belongs to the token's subject (and tenant).
   * A well-signed token naming another agent's task is refused, whatever minted it.
   */
  tasks: Pick<TaskStore, 'get'>;
  /**
   * Roles and environment of an agent, from configuration. Returning undefined refuses the token
   * (the agent no longer exists). When omitted, every agent gets no roles.
   */
  resolveAgent?: (agentId: string) => AgentProfile | undefined;
  clockToleranceSeconds?: number;
  /** Longest lifetime (`exp - iat`) accepted; default 24 h. */
  maxTtlSeconds?: number;
  /** Verified tokens remembered (default 1000). */
  cacheSize?: number;
  now?: () => number;
}

interface VerifiedToken {
  agentId: string;
  taskId: string;
  jti: string;
  /** Key that verified it: a cached result dies with its key. */
  kid: string;
  tenant?: string;
  /** Epoch ms. */
  expiresAt: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'crit'] as const;

function invalid(message: string): AuthError {
  return new AuthError('UNAUTHENTICATED', message, 'invalid_token');
}

/** A JWT's header and payload, decoded and not verified: shared by every caller, so frozen. */
export interface PeekedJwt {
  readonly header: Readonly<ProtectedHeaderParameters>;
  readonly payload: Readonly<JWTPayload>;
}

/**
 * Each request's bearer and what it held: the authenticators, tried in turn on one request, each peek the
 * same bearer (decoding one costs a few µs). Kept with the request, so no credential outlives it here.
 */
const peekedByRequest = new WeakMap<AuthRequest, { bearer: string; peeked: PeekedJwt | undefined }>();

/**
 * Header and payload of a JWT-shaped string, without verifying anything; undefined when not a JWT. Given the
 * request the bearer came with, decoded once for that request.
 */
export function peekJwt(bearer: string, request?: AuthRequest): PeekedJwt | undefined {
  if (request === undefined) return decodeJwtParts(bearer);
  const known = peekedByRequest.get(request);
  if (known?.bearer === bearer) return known.peeked;
  const peeked = decodeJwtParts(bearer);
  peekedByRequest.set(request, { bearer, peeked });
  return peeked;
}

function decodeJwtParts(bearer: string): PeekedJwt | undefined {
  if (!JWT_SHAPE.test(bearer)) return undefined;
  try {
    return Object.freeze({
      header: Object.freeze(decodeProtectedHeader(bearer)),
      payload: Object.freeze(decodeJwt(bearer)),
    });
  } catch {
    return undefined;
  }
}

export function createTaskTokenAuthenticator(options: TaskTokenAuthenticatorOptions): Authenticator {
  const tolerance = options.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;
  const maxTtl = options.maxTtlSeconds ?? 86_400;
  const now = options.now ?? Date.now;
  const cache = verifiedTokens<VerifiedToken>(options.cacheSize ?? 1000);

  async function verify(bearer: string, header: ProtectedHeaderParameters): Promise<VerifiedToken> {
    const algorithms = options.keys.algorithms;
    if (!(algorithms as readonly unknown[]).includes(header.alg)) {
      throw invalid('task token uses an algorithm this gateway does not sign with');
    }
    for (const name of FORBIDDEN_HEADERS) {
      if (name in header) throw invalid(`task token header "${name}" is not accepted`);
    }
    if (header.typ !== TASK_TOKEN_TYP) throw invalid('not a task token');
    const key = typeof header.kid === 'string' ? options.keys.verificationKey(header.kid) : undefined;
    if (key === undefined || key.alg !== header.alg) throw invalid('task token is not signed by a key of this gateway');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(bearer, key.publicKey, {
        algorithms: [key.alg],
        issuer: options.issuer,
        audience: options.issuer,
        typ: TASK_TOKEN_TYP,
        clockTolerance: tolerance,
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'tid'],
      }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw invalid(code === 'ERR_JWT_EXPIRED' ? 'task token has expired' : 'task token is invalid');
    }

    const nowSeconds = now() / 1000;
    const { aud, sub, jti } = payload;
    // jose has checked that `iat` and `exp` are present (required claims) and numbers.
    const { iat, exp } = payload as { iat: number; exp: number };
    const tid = payload['tid'];
    const ten = payload['ten'];
    if (typeof aud !== 'string') throw invalid('task token must name exactly one audience');
    if (iat > nowSeconds + tolerance) throw invalid('task token is issued in the future');
    if (exp <= iat || exp - iat > maxTtl) throw invalid('task token lifetime is out of bounds');
    if (
      typeof sub !== 'string' ||
      sub === '' ||
      typeof jti !== 'string' ||
      jti === '' ||
      typeof tid !== 'string' ||
      tid === ''
    ) {
      throw invalid('task token is missing its subject, id or task');
    }
    if (ten !== undefined && typeof ten !== 'string') throw invalid('task token is invalid');
    return {
      agentId: sub,
      taskId: tid,
      jti,
      kid: key.kid,
      ...(ten !== undefined ? { tenant: ten } : {}),
      expiresAt: exp * 1000,
    };
  }

  return {
    method: 'task-token',
    async authenticate(bearer, request) {
      const peeked = peekJwt(bearer, request);
      if (peeked === undefined) return undefined;
      if (peeked.header.typ !== TASK_TOKEN_TYP && peeked.payload.iss !== options.issuer) return undefined;

      const digest = hash('sha256', bearer, 'base64url');
      let token = cache.get(digest);
      // A remembered token that has expired, or whose key is gone, is verified in full again (and replaced
      // when it verifies; one that fails is judged the same way each time, until it is evicted).
      if (token !== undefined && (token.expiresAt <= now() || options.keys.verificationKey(token.kid) === undefined)) {
        token = undefined;
      }
      if (token === undefined) {
        token = await verify(bearer, peeked.header);
        cache.set(digest, token);
      }

      // Revocation is never cached; a store that cannot answer throws, and the request is refused.
      // The task is read once: whether it has ended and whose it is both come from that read.
      let disabled: boolean, revoked: boolean, task: Awaited<ReturnType<TaskStore['get']>>;
      try {
        [disabled, revoked, task] = await Promise.all([
          options.revocation.isAgentDisabled(token.agentId),
          options.revocation.isJtiRevoked(token.jti),
          options.tasks.get(token.taskId),
        ]);
      } catch (error) {
        // An outage is reported as one (the edge answers 503 STORE_UNAVAILABLE), never as a bad token.
        if (isStoreUnavailable(error)) throw error;
        throw invalid('task token cannot be checked right now');
      }
      if (!isTaskLive(task, now())) {
        cache.delete(digest);
        throw invalid('task has ended');
      }
      if (task.agentId !== token.agentId || (token.tenant !== undefined && task.tenant !== token.tenant)) {
        cache.delete(digest);
        throw invalid('task token names a task that does not belong to its subject');
      }
      if (disabled) throw new AuthError('FORBIDDEN', 'agent is disabled', 'invalid_token');
      if (revoked) throw invalid('task token has been revoked');

      const profile: AgentProfile | undefined =
        options.resolveAgent === undefined ? { roles: [] } : options.resolveAgent(token.agentId);
      if (profile === undefined) throw invalid('unknown agent');
      const tenant = token.tenant ?? profile.tenant;
      const principal: Principal = {
        agentId: token.agentId,
        roles: [...profile.roles],
        authMethod: 'task-token',
        issuer: options.issuer,
        subject: token.agentId,
        taskId: token.taskId,
        expiresAt: token.expiresAt,
        ...(tenant !== undefined ? { tenant } : {}),
        ...(profile.environment !== undefined ? { environment: profile.environment } : {}),
      };
      return principal;
    },
  };
}
