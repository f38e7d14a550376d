/**
 * Step 1 of the pipeline: turn an inbound request into a Principal, or fail closed.
 *
 * Authenticators are tried in order; the first that recognises the credential decides (an invalid token
 * never falls through to a weaker method). Tokens in query strings and duplicate Authorization headers are
 * rejected outright, and disabled agents are refused whatever they present.
 */
import { credentialForScheme } from './authorization-header.js';
import { AuthError, type Authenticator, type AuthRequest, type Principal } from '../../kernel/index.js';

export interface RequestAuthenticator {
  authenticate(request: AuthRequest): Promise<Principal>;
}

export interface RequestAuthenticatorOptions {
  authenticators: readonly Authenticator[];
  /** Checked on every request, after authentication (kill switch). */
  isAgentDisabled?: (agentId: string) => boolean | Promise<boolean>;
}

const QUERY_CREDENTIAL = /[?&](access_token|token|api_key|apikey|key)=/i;

export function createRequestAuthenticator(options: RequestAuthenticatorOptions): RequestAuthenticator {
  return {
    async authenticate(request) {
      if (QUERY_CREDENTIAL.test(request.url)) {
        throw new AuthError('UNAUTHENTICATED', 'credentials in the query string are not accepted', 'invalid_request');
      }
      const bearer = extractBearer(request.headers, request.rawHeaders);
      for (const authenticator of options.authenticators) {
        const principal = await authenticator.authenticate(bearer, request);
        if (principal === undefined) continue;
        if (options.isAgentDisabled !== undefined && (await options.isAgentDisabled(principal.agentId))) {
          throw new AuthError('FORBIDDEN', 'agent is disabled', 'invalid_token');
        }
        return principal;
      }
      throw new AuthError('UNAUTHENTICATED', 'invalid credentials', 'invalid_token');
    },
  };
}

/**
 * The Bearer credential of a request (scheme matched case-insensitively); exactly one Authorization header
 * is accepted.
 */
export function extractBearer(headers: AuthRequest['headers'], rawHeaders?: readonly string[]): string {
  if (rawHeaders !== undefined && countHeader(rawHeaders, 'authorization') > 1) {
    throw new AuthError('UNAUTHENTICATED', 'more than one Authorization header', 'invalid_request');
  }
  const value = headers['authorization'];
  if (value === undefined) throw new AuthError('UNAUTHENTICATED', 'missing bearer token');
  if (Array.isArray(value) || value.includes(',')) {
    throw new AuthError('UNAUTHENTICATED', 'more than one Authorization header', 'invalid_request');
  }
  const bearer = credentialForScheme(value, 'Bearer');
  if (bearer === undefined) {
    throw new AuthError('UNAUTHENTICATED', 'expected Authorization: Bearer <token>', 'invalid_request');
  }
  return bearer;
}

/** Header names sit at the even indexes of Node's raw headers (name, value, name, value, ...). */
function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) count += 1;
  return count;
}
