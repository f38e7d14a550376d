/**
 * Telling jose's refusal of a token from a failure to check it, for every verifier that reads its keys from a
 * remote key set (the call verifier's gateway JWKS, the OAuth authenticator's IdP JWKS): a refused token is a
 * verdict on the token; anything else (the key set unreachable, slow, answering an error status or no key set)
 * is an outage, which must not read as a verdict.
 */

/** jose's codes, besides every `ERR_JWT*` and `ERR_JWS*`, for a token that is wrong in itself. */
const VERDICT_CODES: ReadonlySet<string> = new Set([
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

/** Whether jose refused the token itself (its claims, its signature, a key the set does not hold for it). */
export function isJoseVerdict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('ERR_JWT') || code.startsWith('ERR_JWS_') || VERDICT_CODES.has(code);
}
