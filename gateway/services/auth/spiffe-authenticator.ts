/**
 * Workload identity: SPIFFE JWT-SVIDs (`sub` = `spiffe://trust-domain/path`) verified against a configured
 * trust bundle (a JWKS, from a file or inline; no network), with the audience pinned to this gateway and
 * each SPIFFE id mapped to an agent by configuration. An SVID whose id is not in the map is refused.
 *
 * A bearer is an SVID when it is a JWT whose unverified `sub` starts with `spiffe://`; anything else
 * returns undefined. The SVID must name exactly one audience (an SVID minted for several audiences could be
 * replayed by any of them), `alg` is pinned, embedded key headers are refused, `exp` and `iat` (when
 * present) are checked with 30 s tolerance.
 */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import { CLOCK_TOLERANCE_SECONDS } from '../../verify/index.js';
import { peekJwt } from './token-authenticator.js';
import { AuthError, type Authenticator, type Principal } from '../../kernel/index.js';

export interface SpiffeAgent {
  agentId: string;
  roles?: readonly string[];
  tenant?: string;
  environment?: string;
}

export interface SpiffeAuthenticatorOptions {
  /** The JWT-SVID bundle of the trusted trust domain(s). */
  trustBundle: JSONWebKeySet;
  /** The audience SVIDs must be minted for (this gateway). */
  audience: string;
  /** SPIFFE id -> agent. */
  agents: Readonly<Record<string, string | SpiffeAgent>>;
  /** Accepted trust domains; defaults to the trust domains of the mapped ids. */
  trustDomains?: readonly string[];
  algorithms?: readonly string[];
  clockToleranceSeconds?: number;
}

export class TrustBundleError extends Error {
  override readonly name = 'TrustBundleError';
  readonly code = 'INVALID_TRUST_BUNDLE';
}

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]{1,255})((?:\/[A-Za-z0-9._-]+)*)$/;
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'crit'];
const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

/** The trust domain of a well-formed SPIFFE id, or undefined. */
export function spiffeTrustDomain(id: string): string | undefined {
  const match = SPIFFE_ID.exec(id);
  if (match === null || match[1] === undefined) return undefined;
  if ((match[2] ?? '').split('/').some((segment) => segment === '.' || segment === '..')) return undefined;
  return match[1];
}

/**
 * Keep only keys usable for JWT-SVIDs: SPIFFE bundles mark them `use: jwt-svid` (jose only accepts
 * `use: sig` or none, so the marker is dropped) and may carry `x509-svid` keys, which are excluded.
 */
export function normalizeTrustBundle(bundle: unknown): JSONWebKeySet {
  const keys = (bundle as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new TrustBundleError('trust bundle must be a JWKS ({ "keys": [...] })');
  const usable: JWK[] = [];
  for (const key of keys as JWK[]) {
    if (typeof key !== 'object' || key === null || 'd' in key)
      throw new TrustBundleError('trust bundle must hold public keys only');
    if (key.use !== undefined && key.use !== 'jwt-svid' && key.use !== 'sig') continue;
    const { use: _use, ...rest } = key;
    usable.push(rest);
  }
  if (usable.length === 0) throw new TrustBundleError('trust bundle holds no JWT-SVID keys');
  return { keys: usable };
}

export async function loadTrustBundle(file: string): Promise<JSONWebKeySet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TrustBundleError(
      `trust bundle ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    return normalizeTrustBundle(JSON.parse(text));
  } catch (error) {
    if (error instanceof TrustBundleError) throw error;
    throw new TrustBundleError(`trust bundle ${file} is not valid JSON`);
  }
}

function invalid(message: string): AuthError {
  return new AuthError('UNAUTHENTICATED', message, 'invalid_token');
}

export function createSpiffeAuthenticator(options: SpiffeAuthenticatorOptions): Authenticator {
  const agents = new Map<string, SpiffeAgent>();
  for (const [id, agent] of Object.entries(options.agents)) {
    if (spiffeTrustDomain(id) === undefined) throw new TypeError(`spiffe: "${id}" is not a valid SPIFFE id`);
    agents.set(id, typeof agent === 'string' ? { agentId: agent } : agent);
  }
  const trustDomains = new Set(options.trustDomains ?? [...agents.keys()].map((id) => spiffeTrustDomain(id) as string));
  const jwks = createLocalJWKSet(normalizeTrustBundle(options.trustBundle));
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.some((alg) => alg === 'none' || alg.startsWith('HS')))
    throw new TypeError('spiffe: only asymmetric algorithms are accepted');
  const tolerance = options.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;

  return {
    method: 'spiffe',
    async authenticate(bearer, request) {
      const peeked = peekJwt(bearer, request);
      const sub = peeked?.payload.sub;
      if (peeked === undefined || typeof sub !== 'string' || !sub.startsWith('spiffe://')) return undefined;
      const { header } = peeked;
      if (FORBIDDEN_HEADERS.some((name) => name in header)) throw invalid('SVID header carries key material');
      if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
        throw invalid('SVID algorithm is not accepted');
      if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE')
        throw invalid('SVID type is not accepted');

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(bearer, jwks, {
          algorithms,
          audience: options.audience,
          clockTolerance: tolerance,
          requiredClaims: ['sub', 'aud', 'exp'],
        }));
      } catch (error) {
        throw invalid(
          (error as { code?: unknown }).code === 'ERR_JWT_EXPIRED' ? 'SVID has expired' : 'SVID is invalid',
        );
      }
      const aud = Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : payload.aud;
      if (aud !== options.audience) throw invalid('SVID must name exactly this gateway as its audience');
      if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + tolerance)
        throw invalid('SVID is issued in the future');

      const spiffeId = payload.sub as string;
      const domain = spiffeTrustDomain(spiffeId);
      if (domain === undefined || !trustDomains.has(domain)) throw invalid('SVID is from an untrusted trust domain');
      const agent = agents.get(spiffeId);
      if (agent === undefined) throw invalid('SPIFFE id is not mapped to an agent');
      const principal: Principal = {
        agentId: agent.agentId,
        roles: [...(agent.roles ?? [])],
        authMethod: 'spiffe',
        issuer: `spiffe://${domain}`,
        subject: spiffeId,
        ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
        ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
        ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
      };
      return principal;
    },
  };
}
