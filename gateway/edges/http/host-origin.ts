/**
 * DNS-rebinding defence for the HTTP edge. A browser page on an attacker's domain can make the victim's
 * browser talk to a gateway on loopback (the attacker's name resolves to 127.0.0.1); checking Host and
 * Origin stops it, because the browser still sends the attacker's name.
 *
 * Names are parsed, never compared by prefix: a Host header is parsed as the authority of an `http:` URL
 * (WHATWG URL parser: lower-cased, IDN to punycode, IPv4 in any notation normalised to dotted decimal) and
 * anything that is not a bare `host[:port]` is refused. A hostname is loopback only when it is an IP
 * literal in 127.0.0.0/8, the IPv6 literal `[::1]`, or exactly `localhost`; `127.x.example`,
 * `127.0.0.1.nip.io` and `localhost.` are names like any other.
 *
 * - Host: when listening on a loopback address, only loopback hosts plus the configured `allowedHosts` are
 *   accepted. On other addresses, `allowedHosts` applies when it is non-empty.
 * - Origin: a request that carries an Origin header must name a configured `allowedOrigins` entry, or (on
 *   loopback) an http(s) origin whose host is loopback. Requests without Origin (non-browser clients)
 *   pass this check.
 *
 * `allowedHosts` entries are exact names (`gw.example.com`) or names with a port (`gw.example.com:443`,
 * which then only matches that port).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { isLoopbackAddress, parseHostHeader, type ParsedHost } from '../../kernel/index.js';
import { jsonRpcError } from './mcp-errors.js';

export { parseHostHeader, type ParsedHost };

export interface HostOriginOptions {
  listenHost: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

/** True for a parsed hostname (see parseHostHeader) that is a loopback IP literal or exactly `localhost`. */
export function isLoopbackHostname(hostname: string): boolean {
  return isLoopbackAddress(hostname);
}

/** True when the configured listen address is a loopback address (or `localhost`). */
export function isLoopbackListen(host: string): boolean {
  return isLoopbackAddress(host);
}

function parseAllowedHost(entry: string): ParsedHost {
  const parsed = parseHostHeader(entry.trim());
  if (parsed === undefined) throw new TypeError(`http.allowedHosts: "${entry}" is not a host name or host:port`);
  return parsed;
}

/** The body of a 403 refusal: a JSON-RPC error, since browsers reach the MCP endpoint first. */
export function hostOriginRefusalBody(message: string): object {
  return jsonRpcError(-32000, message);
}

/** Express middleware over `hostOriginCheck`: a refused request is answered 403 and goes no further. */
export function hostOriginGuard(options: HostOriginOptions): RequestHandler {
  const refusal = hostOriginCheck(options);
  return (req, res, next) => {
    const message = refusal(req.headers);
    if (message === undefined) {
      next();
      return;
    }
    res.status(403).json(hostOriginRefusalBody(message));
  };
}

/**
 * The check itself, for any request's headers: undefined when Host and Origin pass, else the refusal's
 * message (for paths served without Express, which answer it with `hostOriginRefusalBody`).
 */
export function hostOriginCheck(options: HostOriginOptions): (headers: IncomingHttpHeaders) => string | undefined {
  const loopback = isLoopbackListen(options.listenHost);
  const allowedHosts = options.allowedHosts.map(parseAllowedHost);
  const allowedOrigins = new Set(options.allowedOrigins.map((o) => new URL(o).origin));

  const hostVerdict = (header: string): boolean => {
    const host = parseHostHeader(header);
    if (host === undefined) return false;
    if (allowedHosts.some((a) => a.hostname === host.hostname && (a.port === '' || a.port === host.port))) return true;
    if (loopback) return isLoopbackHostname(host.hostname);
    return allowedHosts.length === 0;
  };
  // Agents send the same Host on every request: the last one accepted is remembered (one string, whatever
  // hosts others send), so parsing it as a URL is not repeated on every call. The verdict depends only on
  // the header and this guard's configuration.
  let lastAllowedHost: string | undefined;
  const hostAllowed = (header: string | undefined): boolean => {
    if (header === undefined) return false;
    if (header === lastAllowedHost) return true;
    const allowed = hostVerdict(header);
    if (allowed) lastAllowedHost = header;
    return allowed;
  };

  const originAllowed = (origin: string): boolean => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    // Exactly a serialised origin (scheme://host[:port]), as browsers send it.
    if (url.origin !== origin.toLowerCase()) return false;
    if (allowedOrigins.has(url.origin)) return true;
    return loopback && (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHostname(url.hostname);
  };

  return (headers) => {
    if (!hostAllowed(headers.host)) return 'Forbidden: Host not allowed';
    const origin = headers.origin;
    if (origin !== undefined && !originAllowed(origin)) return 'Forbidden: Origin not allowed';
    return undefined;
  };
}
