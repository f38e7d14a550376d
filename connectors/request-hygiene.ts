/**
 * Part of the connector contract: a request a connector sends is exactly the request the gateway decided
 * on. Headers and query parameters that make a server (or a proxy in front of it) act on another method or
 * another URL than the one on the request line, and hop-by-hop headers that change how the message is
 * framed or forwarded, are never configured, imported or sent:
 *
 * - method overrides: `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` (headers), `_method`
 *   and the same names as query parameters;
 * - routing: `X-Original-URL`, `X-Rewrite-URL`, `X-Original-Method`, `Forwarded`, `X-Forwarded-*`, `Host`;
 * - hop-by-hop: `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`,
 *   `Upgrade`, `Proxy-Authenticate`, `Proxy-Authorization`.
 *
 * Names compare case-insensitively. Configured tools that map such a name are a configuration error;
 * imported API descriptions lose such parameters with a warning.
 */

const METHOD_OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
const ROUTING_HEADERS = new Set(['x-original-url', 'x-rewrite-url', 'x-original-method', 'forwarded', 'host']);
const ROUTING_HEADER_PREFIXES = ['x-forwarded-'];
/** Hop-by-hop header names (RFC 9110 section 7.6.1, and the proxy ones), lower case. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);
const METHOD_OVERRIDE_QUERY = new Set(['_method', ...METHOD_OVERRIDE_HEADERS]);

/** Why this header name may not be set on a backend request, or undefined when it may. */
export function routingHeaderProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (METHOD_OVERRIDE_HEADERS.has(lower)) return 'it would override the request method';
  if (ROUTING_HEADERS.has(lower) || ROUTING_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix)))
    return 'it would change where the request is routed';
  if (HOP_BY_HOP_HEADERS.has(lower)) return 'it is a hop-by-hop header';
  return undefined;
}

/** Why this query parameter name may not be sent to a backend, or undefined when it may. */
export function routingQueryProblem(name: string): string | undefined {
  return METHOD_OVERRIDE_QUERY.has(name.toLowerCase()) ? 'it would override the request method' : undefined;
}

/**
 * Why the host of a configured URL cannot be used, or undefined. A host ending in a dot (`api.example.com.`)
 * is refused: egress rules and host patterns compare names without it, so it would never match its own
 * rule; write the name without the dot.
 */
export function configuredHostProblem(url: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return undefined; // the URL check itself reports it
  }
  return hostname.endsWith('.')
    ? `host "${hostname}" ends with a dot: write it without (${hostname.slice(0, -1)})`
    : undefined;
}
