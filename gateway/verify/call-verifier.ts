/**
 * For backends: verify a Portcullis call credential before doing anything it asks.
 *
 * A credential is accepted only when all of this holds: it is a JWT signed by a key from the gateway's
 * JWKS (fetched from `jwksUrl`, cached by jose, no embedded `jwk`/`jku`/`x5u`/`x5c`/`crit` header), `alg`
 * is one of `algorithms`, `typ` is `portcullis-call+jwt`, `iss` is the gateway, `aud` is exactly this
 * backend (one string, not a list), `exp`/`iat`/`nbf` within `clockTolerance`, `jti`/`sub`/`tid`
 * present, and its `scope` names the operation actually requested (`METHOD /path` compared with the
 * request's method and raw path, or `tool:NAME`). When `introspection` is configured the gateway is then
 * asked (RFC 7662) whether the credential is still active, which catches revoked credentials, ended
 * tasks and disabled agents before the credential expires.
 *
 * Fails closed: JWKS or introspection unreachable means the call is refused (503), never accepted.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { isJoseVerdict } from './jose-verdict.js';
import { CALL_CREDENTIAL_TYP, CLOCK_TOLERANCE_SECONDS, type CallCredentialClaims } from './claims.js';

export type CallVerificationErrorCode =
  'INVALID_CREDENTIAL' | 'CREDENTIAL_INACTIVE' | 'SCOPE_MISMATCH' | 'VERIFIER_UNAVAILABLE';

const STATUS: Record<CallVerificationErrorCode, number> = {
  INVALID_CREDENTIAL: 401,
  CREDENTIAL_INACTIVE: 401,
  SCOPE_MISMATCH: 403,
  VERIFIER_UNAVAILABLE: 503,
};

export class CallVerificationError extends Error {
  override readonly name = 'CallVerificationError';
  /** HTTP status a backend should answer with. */
  readonly status: number;
  constructor(
    readonly code: CallVerificationErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.status = STATUS[code];
  }
}

/** The operation a request performs: an HTTP method + raw path, or an MCP tool name. */
export type CallOperation = { method: string; path: string } | { tool: string };

export interface CallVerifierOptions {
  /** The gateway's JWKS, e.g. `https://gateway.example.com/.well-known/jwks.json`. */
  jwksUrl: string;
  /** The gateway's issuer URL. */
  issuer: string;
  /** This backend's audience, exactly as configured on the gateway. */
  audience: string;
  /** Ask the gateway's introspection endpoint on every verification (revocation before expiry). */
  introspection?: { url: string; clientId: string; clientSecret: string; timeoutMs?: number };
  /** Seconds (default 30). */
  clockTolerance?: number;
  /** Accepted algorithms (default ES256, the gateway's default). */
  algorithms?: readonly string[];
  /** fetch used for introspection (default global fetch). */
  fetch?: typeof fetch;
}

export interface CallVerifier {
  verify(token: string, operation: CallOperation): Promise<CallCredentialClaims>;
  /**
   * Express middleware: reads `Authorization: Bearer`, verifies it for the request's method and raw path
   * (or `operation(req)` when given), puts the claims in `res.locals.portcullis`, and answers 401/403/503
   * with `{ error: { code, message } }` otherwise.
   */
  middleware(options?: { operation?: (req: Request) => CallOperation }): RequestHandler;
}

const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'crit'];

function invalid(message: string, cause?: unknown): CallVerificationError {
  return new CallVerificationError('INVALID_CREDENTIAL', message, cause === undefined ? undefined : { cause });
}

/** `METHOD /path` for an HTTP operation, `tool:NAME` for a tool. */
export function scopeFor(operation: CallOperation): string {
  return 'tool' in operation ? `tool:${operation.tool}` : `${operation.method.toUpperCase()} ${operation.path}`;
}

/** The path of a request exactly as it arrived (percent-encoding intact), without the query. */
export function rawPath(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function createCallVerifier(options: CallVerifierOptions): CallVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const tolerance = options.clockTolerance ?? CLOCK_TOLERANCE_SECONDS;
  const algorithms = [...(options.algorithms ?? ['ES256'])];
  const doFetch = options.fetch ?? fetch;

  async function introspect(token: string, jti: string): Promise<void> {
    const config = options.introspection;
    if (config === undefined) return;
    const basic = Buffer.from(
      `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`,
    ).toString('base64');
    let body: unknown;
    try {
      const response = await doFetch(config.url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(config.timeoutMs ?? 2000),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`introspection answered ${response.status}`);
      }
      body = await response.json();
    } catch (error) {
      throw new CallVerificationError('VERIFIER_UNAVAILABLE', 'credential status cannot be checked', { cause: error });
    }
    // Any JSON value: only an object with `active: true` (and this jti, when it names one) is an acceptance.
    const answer = body as { active?: unknown; jti?: unknown } | null;
    if (answer?.active !== true || (answer.jti !== undefined && answer.jti !== jti)) {
      throw new CallVerificationError('CREDENTIAL_INACTIVE', 'credential is no longer active');
    }
  }

  async function verify(token: string, operation: CallOperation): Promise<CallCredentialClaims> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw invalid('credential is not a JWT', error);
    }
    for (const name of FORBIDDEN_HEADERS)
      if (name in header) throw invalid(`credential header "${name}" is not accepted`);
    if (header.typ !== CALL_CREDENTIAL_TYP) throw invalid('not a call credential');
    if (!(algorithms as readonly unknown[]).includes(header.alg)) throw invalid('credential algorithm is not accepted');
    if (typeof header.kid !== 'string') throw invalid('credential has no key id');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        typ: CALL_CREDENTIAL_TYP,
        clockTolerance: tolerance,
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'tid', 'scope'],
      }));
    } catch (error) {
      if (isJoseVerdict(error)) throw invalid('credential is invalid or expired', error);
      throw new CallVerificationError('VERIFIER_UNAVAILABLE', 'gateway keys cannot be fetched', { cause: error });
    }

    const { aud, sub, jti } = payload;
    // jose has checked that `iat` and `exp` are present (required claims) and numbers.
    const { iat, exp } = payload as { iat: number; exp: number };
    const { tid, scope, act, elv } = payload as Record<string, unknown>;
    if (aud !== options.audience) throw invalid('credential must name exactly this backend as its audience');
    if (iat > Date.now() / 1000 + tolerance || exp <= iat) {
      throw invalid('credential times are out of bounds');
    }
    if (
      typeof sub !== 'string' ||
      typeof jti !== 'string' ||
      jti === '' ||
      typeof tid !== 'string' ||
      typeof scope !== 'string'
    ) {
      throw invalid('credential claims are malformed');
    }
    // Anything but an object with a string `sub` (a string, a number, null, ...) has no string `sub`.
    if (act !== undefined && (act === null || typeof (act as { sub?: unknown }).sub !== 'string')) {
      throw invalid('credential claims are malformed');
    }
    if (scope !== scopeFor(operation))
      throw new CallVerificationError('SCOPE_MISMATCH', 'credential does not cover this operation');

    await introspect(token, jti);

    const claims: CallCredentialClaims = { iss: options.issuer, aud, sub, tid, scope, iat, exp, jti };
    if (act !== undefined) claims.act = { sub: (act as { sub: string }).sub };
    if (elv === true) claims.elv = true;
    return claims;
  }

  return {
    verify,
    middleware(middlewareOptions = {}) {
      return (req: Request, res: Response, next: NextFunction): void => {
        const header = req.headers.authorization;
        const match = typeof header === 'string' ? /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim()) : null;
        if (match?.[1] === undefined) {
          res.setHeader('WWW-Authenticate', 'Bearer');
          res.status(401).json({ error: { code: 'INVALID_CREDENTIAL', message: 'missing bearer credential' } });
          return;
        }
        const operation = middlewareOptions.operation?.(req) ?? { method: req.method, path: rawPath(req) };
        verify(match[1], operation).then(
          (claims) => {
            res.locals['portcullis'] = claims;
            next();
          },
          (error: unknown) => {
            const failure =
              error instanceof CallVerificationError
                ? error
                : new CallVerificationError('VERIFIER_UNAVAILABLE', 'credential cannot be checked');
            if (failure.status === 401) res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
            if (failure.status === 403) res.setHeader('WWW-Authenticate', 'Bearer error="insufficient_scope"');
            res.status(failure.status).json({ error: { code: failure.code, message: failure.message } });
          },
        );
      };
    },
  };
}
