/**
 * Who is calling. Every authenticator turns request credentials into a Principal or fails closed with an
 * AuthError; nothing downstream ever sees the raw credential.
 */
import type { ErrorCode } from './errors.js';
export type AuthMethod = 'api-key' | 'task-token' | 'oauth' | 'spiffe' | 'stdio';

export interface Principal {
  agentId: string;
  roles: readonly string[];
  tenant?: string;
  environment?: string;
  authMethod: AuthMethod;
  /** Task bound to the credential (task tokens); implicit-task sessions get one from the session layer. */
  taskId?: string;
  /**
   * Who vouched for the credential and whom it names, for credentials that carry both (task tokens: this
   * gateway and the agent; OAuth: the IdP's `iss` and `sub`; SPIFFE: the trust domain and the SPIFFE id).
   * Several subjects may map to one agent, so sessions are bound to these as well as to the agent.
   */
  issuer?: string;
  subject?: string;
  /** OAuth scopes granted to the bearer, when the credential carries them. */
  scopes?: readonly string[];
  /** On-behalf-of user, when the credential names one (`act` claim chain for call credentials). */
  onBehalfOf?: string;
  /** Expiry of the presented credential (epoch ms), when it has one; used to bound caches. */
  expiresAt?: number;
}

/** Request facts an authenticator may look at. Header names are lower-case. */
export interface AuthRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Full request URL path + query, to reject tokens in query strings. */
  url: string;
  /** Raw header list (name, value, ...) when available: node:http drops duplicate Authorization headers. */
  rawHeaders?: readonly string[];
}

export type AuthErrorCode = Extract<ErrorCode, 'UNAUTHENTICATED' | 'FORBIDDEN' | 'INSUFFICIENT_SCOPE'>;

export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    /** Safe to return to the caller: never echoes the credential. */
    message: string,
    /** RFC 6750 `error` value for WWW-Authenticate (invalid_token, invalid_request, insufficient_scope). */
    readonly bearerError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  ) {
    super(message);
  }
}

/**
 * One way of authenticating. Returns `undefined` when the credential is not of its kind (so the next
 * authenticator may try), a Principal on success, and throws AuthError when the credential is of its kind
 * but invalid (so an invalid token never falls through to a weaker method).
 */
export interface Authenticator {
  readonly method: AuthMethod;
  authenticate(bearer: string, request: AuthRequest): Promise<Principal | undefined>;
}
