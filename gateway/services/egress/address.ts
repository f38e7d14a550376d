/**
 * Host literals for the egress guard. Classification itself lives with the policy engine
 * (policies/address.ts), so the guard and the rules always agree on what an address is.
 */
import ipaddr from 'ipaddr.js';

export { classifyAddress, embeddedIPv4 } from '../../../policies/address.js';

/**
 * Recognise a host string that denotes an IP address and return it in canonical form (IPv4 dotted quad,
 * IPv6 compressed, no brackets), or undefined when the host is a name.
 *
 * Besides the usual forms this accepts what inet_aton and the WHATWG URL parser accept for IPv4: decimal
 * (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.0.0.1`, `0x7f000001`) and shortened (`127.1`) forms, and one
 * trailing dot. `new URL` already normalises these in URLs; this function exists so a raw host string (from
 * configuration, a Location header before resolution, or a resolver answer) can never reach name resolution
 * while it really is an address.
 */
export function parseHostLiteral(host: string): string | undefined {
  // ipaddr.js reads hex digits and `0x` in either case, and its canonical form is lower-case.
  let text = host.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  else if (text.endsWith('.') && !text.includes(':')) text = text.slice(0, -1);
  // An IPv6 zone (`fe80::1%eth0`) only selects an interface; the address is what gets classified.
  const zone = text.indexOf('%');
  if (zone !== -1 && text.includes(':')) text = text.slice(0, zone);
  if (!ipaddr.isValid(text)) return undefined;
  return ipaddr.parse(text).toString();
}
