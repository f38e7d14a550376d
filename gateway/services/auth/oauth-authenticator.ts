/**
 * OAuth 2.1 bearer JWTs from an external identity provider (the MCP authorization model: the gateway is
 * the protected resource, the IdP the authorization server).
 *
 * A bearer is the IdP's when it is a JWT whose unverified `iss` is the configured issuer; otherwise this
 * authenticator returns undefined. The IdP's keys come only from its JWKS URL (jose's remote set, cached
 * and refreshed on unknown `kid`); `iss`, `aud` (this gateway's resource URL) and `alg` (configured list)
 * are pinned, tokens carrying their own key material (`jwk`, `jku`, `x5u`, `x5c`) are refused, `exp` and
 * `iat` are required, 30 s clock tolerance. An unreachable JWKS refuses the token (fail closed).
 * Claims map to a Principal by configurable (dotted) claim paths; missing `requiredScopes` is
 * INSUFFICIENT_SCOPE.
 *
 * An agent presents the same access token on every request until it expires, and checking its signature
 * costs more than the rest of a call's authentication (76 µs for RS256, 140 µs for ES256 on the benchmark's
 * machine). So a token that verified is remembered (bounded LRU, keyed by a digest of the token) until its
 * `exp`, for as long as the key that verified it is still the key the JWKS gives for the token's header:
 * each later request asks the key set again (from memory while the set is fresh, fetched again when it is
 * not, as verifying would), and a key the IdP rotated out or replaced, once the set is fetched again, ends
 * the memory. What the same bytes always pass (signature, issuer, audience, type, required claims, a `nbf`
 * once reached) is not checked again; what time changes (`exp`, `iat`) is, and the principal (agent, roles,
 * tenant, scopes) is read from the claims on every request as before.
 */
import { hash } from 'node:crypto';
import {
  createRemoteJWKSet,
  customFetch,
  jwtVerify,
  type JWTHeaderParameters,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import type { FetchLike } from '../../../connectors/contract.js';
import { CLOCK_TOLERANCE_SECONDS, isJoseVerdict } from '../../verify/index.js';
import { peekJwt } from './token-authenticator.js';
import { verifiedTokens } from './verified-tokens.js';
import { AuthError, type Authenticator, type Principal } from '../../kernel/index.js';

export interface OAuthAuthenticatorOptions {
  /** The IdP's issuer identifier, exactly as it appears in `iss`. */
  issuer: string;
  jwksUrl: string;
  /** How the JWKS is fetched: the gateway passes its egress-guarded fetch. */
  jwksFetch?: FetchLike;
  /** This gateway's resource URL (RFC 8707 / RFC 9728 `resource`); tokens must name it in `aud`. */
  audience: string;
  /** Accepted signature algorithms, e.g. ['RS256', 'ES256']. Required: never inferred from the token. */
  algorithms: readonly string[];
  /** Expected `typ` header, e.g. `at+jwt` (RFC 9068); unchecked when omitted. */
  typ?: string;
  /** Claim holding the agent id (default `sub`). Dotted paths reach into objects. */
  agentIdClaim?: string;
  /** Claim holding roles: an array of strings or a space-separated string. */
  rolesClaim?: string;
  tenantClaim?: string;
  /** Claim holding granted scopes (default `scope`; a space-separated string or an array, e.g. `scp`). */
  scopeClaim?: string;
  requiredScopes?: readonly string[];
  /** Claims that must be present besides iss/aud/exp/iat (e.g. `jti`). */
  requiredClaims?: readonly string[];
  clockToleranceSeconds?: number;
  /** JWKS fetch timeout (default 5000 ms) and cache max age (default 10 min). */
  jwksTimeoutMs?: number;
  jwksCacheMaxAgeMs?: number;
  /** Verified tokens remembered (default 1000). */
  cacheSize?: number;
  /** Epoch milliseconds (tests). */
  now?: () => number;
  /** jose's `jwtVerify` (replaced in tests to count the verifications). */
  verifyJwt?: typeof jwtVerify;
}

/** A token whose signature and claims checked out: its payload, and the key that verified it. */
interface VerifiedBearer {
  payload: JWTPayload;
  key: unknown;
  /** Epoch ms: `exp`. */
  expiresAt: number;
}

const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'crit'];
const AGENT_ID = /^[\x21-\x7e]{1,256}$/;

export function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A list claim: an array of strings, or a space-separated string. Anything else is empty. */
export function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s !== '');
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

function invalid(message: string): AuthError {
  return new AuthError('UNAUTHENTICATED', message, 'invalid_token');
}

export function createOAuthAuthenticator(options: OAuthAuthenticatorOptions): Authenticator {
  if (options.algorithms.length === 0) throw new TypeError('oauth: at least one algorithm must be configured');
  if (options.algorithms.some((alg) => alg === 'none' || alg.startsWith('HS'))) {
    throw new TypeError('oauth: only asymmetric algorithms are accepted');
  }
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: options.jwksTimeoutMs ?? 5000,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
    ...(options.jwksFetch !== undefined ? { [customFetch]: jwksFetchFor(options.jwksFetch) } : {}),
  });
  const algorithms = [...options.algorithms];
  const tolerance = options.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;

  const now = options.now ?? Date.now;
  const verifyJwt = options.verifyJwt ?? jwtVerify;
  const verifiedBearers = verifiedTokens<VerifiedBearer>(options.cacheSize ?? 1000);

  /**
   * The payload of a token that verified before, while its key is still the key the JWKS gives for its
   * header and it has not expired; undefined otherwise (the token is then verified in full).
   */
  async function rememberedPayload(digest: string, header: ProtectedHeaderParameters): Promise<JWTPayload | undefined> {
    const remembered = verifiedBearers.get(digest);
    if (remembered === undefined) return undefined;
    if (remembered.expiresAt > now()) {
      try {
        if ((await jwks(header as JWTHeaderParameters)) === remembered.key) return remembered.payload;
      } catch {
        // No single key for the header now: verifying in full gives the reason.
      }
    }
    verifiedBearers.delete(digest);
    return undefined;
  }

  /** Verify a token in full, and remember it with the key of the JWKS that verified it. */
  async function verify(bearer: string, digest: string): Promise<JWTPayload> {
    let verifyingKey: unknown;
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyJwt(
        bearer,
        async (protectedHeader, token) => (verifyingKey = await jwks(protectedHeader, token)),
        {
          algorithms,
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: tolerance,
          currentDate: new Date(now()),
          requiredClaims: ['iss', 'aud', 'exp', 'iat', ...(options.requiredClaims ?? [])],
          ...(options.typ !== undefined ? { typ: options.typ } : {}),
        },
      ));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_JWT_EXPIRED') throw invalid('token has expired');
      if (isJoseVerdict(error)) throw invalid('token is invalid');
      throw invalid('token cannot be verified right now');
    }
    verifiedBearers.set(digest, { payload, key: verifyingKey, expiresAt: (payload.exp as number) * 1000 });
    return payload;
  }

  return {
    method: 'oauth',
    async authenticate(bearer, request) {
      const peeked = peekJwt(bearer, request);
      if (peeked === undefined || peeked.payload.iss !== options.issuer) return undefined;
      const { header } = peeked;
      if (FORBIDDEN_HEADERS.some((name) => name in header)) throw invalid('token header carries key material');
      if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
        throw invalid('token algorithm is not accepted');

      const digest = hash('sha256', bearer, 'base64url');
      let payload = await rememberedPayload(digest, header);
      if (payload === undefined) payload = await verify(bearer, digest);
      // `iat` and `exp` are required claims, so jose has checked they are numbers.
      if ((payload.iat as number) > now() / 1000 + tolerance) throw invalid('token is issued in the future');

      const agentId = claimAt(payload, options.agentIdClaim ?? 'sub');
      if (typeof agentId !== 'string' || !AGENT_ID.test(agentId)) throw invalid('token does not identify an agent');
      const scopes = stringList(claimAt(payload, options.scopeClaim ?? 'scope'));
      const missing = (options.requiredScopes ?? []).filter((s) => !scopes.includes(s));
      if (missing.length > 0) {
        throw new AuthError(
          'INSUFFICIENT_SCOPE',
          `token lacks required scope: ${missing.join(' ')}`,
          'insufficient_scope',
        );
      }
      const tenant = options.tenantClaim === undefined ? undefined : claimAt(payload, options.tenantClaim);
      if (tenant !== undefined && typeof tenant !== 'string') throw invalid('tenant claim is malformed');

      const principal: Principal = {
        agentId,
        roles: options.rolesClaim === undefined ? [] : stringList(claimAt(payload, options.rolesClaim)),
        authMethod: 'oauth',
        issuer: options.issuer,
        subject: typeof payload.sub === 'string' ? payload.sub : agentId,
        scopes,
        ...(tenant !== undefined ? { tenant } : {}),
        expiresAt: (payload.exp as number) * 1000,
      };
      return principal;
    },
  };
}

/** jose's fetch hook over the gateway's fetch. */
function jwksFetchFor(fetch: FetchLike): (url: string, init: RequestInit) => Promise<Response> {
  return (url, init) => fetch(url, init);
}
