/**
 * Whether an address names this host's loopback interface: an IPv4 literal in 127.0.0.0/8, the IPv6
 * literal `::1` (bracketed or not), or exactly `localhost`. Decided by parsing, never by prefix: a name
 * such as `127.example.com` or `localhost.` is not loopback.
 */
import { isIP } from 'node:net';

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
