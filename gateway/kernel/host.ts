/** Host names as HTTP carries them: parsing `host[:port]` and recognising loopback. */
import { isIP } from 'node:net';

export interface ParsedHost {
  /** As the URL parser gives it: lower case, punycode, IPv6 in brackets. */
  hostname: string;
  /** Empty when the header names no port. */
  port: string;
}

/**
 * Characters that can never be part of a `host[:port]` authority as HTTP sends it: anything outside
 * printable ASCII (IDNs travel as punycode), and the delimiters of userinfo, path, query and fragment.
 */
const NOT_AUTHORITY = /[^\x21-\x7e]|[/\\?#@]/;

/** The host and port a Host header value names, or undefined when it is not a bare `host[:port]`. */
export function parseHostHeader(value: string): ParsedHost | undefined {
  if (value === '' || NOT_AUTHORITY.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${value}`);
  } catch {
    return undefined;
  }
  // An explicit default port (`:80`) is dropped by the parser; keep what was written.
  const explicitPort = /:(\d+)$/.exec(value)?.[1];
  // NOT_AUTHORITY already refuses every delimiter that could give the URL anything but a host and port; the
  // parsed URL is checked again so that a parser quirk can never widen what a Host header names.
  return isBareAuthority(url)
    ? { hostname: url.hostname, port: url.port !== '' ? url.port : (explicitPort ?? '') }
    : undefined;
}

/** Whether a parsed URL carries only an authority: no user name, password, path (other than `/`), query or fragment. */
export function isBareAuthority(url: URL): boolean {
  return url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '';
}

/**
 * Whether an address names this host's loopback interface: an IPv4 literal in 127.0.0.0/8, the IPv6
 * literal `::1` (bracketed or not), or exactly `localhost`. Decided by parsing, never by prefix: a name
 * such as `127.example.com` or `localhost.` is not loopback.
 */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  switch (isIP(bare)) {
    case 4:
      return bare.split('.')[0] === '127';
    case 6:
      return new URL(`http://[${bare}]`).hostname === '[::1]';
    default:
      return false;
  }
}
