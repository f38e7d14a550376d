/**
 * Reading one credential from an `Authorization` header value (RFC 9110 section 11.6.2).
 *
 * The auth scheme is a case-insensitive token (`Bearer`, `bearer` and `BEARER` are the same scheme) separated
 * from its credential by one or more spaces; the credential is a token68 (RFC 9110 section 11.2), which is
 * the syntax of RFC 6750 bearer tokens and of RFC 7617 Basic credentials. Anything else is no credential of
 * that scheme.
 */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The token68 credential of `value` when its scheme is `scheme` (compared case-insensitively). */
export function credentialForScheme(value: string, scheme: string): string | undefined {
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  if (space <= 0) return undefined;
  if (trimmed.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined;
  const credential = trimmed.slice(space + 1).replace(/^ +/, '');
  return TOKEN68.test(credential) ? credential : undefined;
}
