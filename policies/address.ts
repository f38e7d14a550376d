/**
 * Address classification and address matching for egress rules. Pure: no resolution, no I/O.
 *
 * `classifyAddress` answers "what kind of place is this IP" with one of the policy's AddressClass values, so
 * rules can name classes ("allow loopback for this host") instead of every CIDR. Addresses that carry an IPv4
 * address inside an IPv6 one (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo) are
 * classified by the IPv4 address they lead to, because that is where the packets end up: `::ffff:127.0.0.1`
 * is loopback, `64:ff9b::a9fe:a9fe` is the metadata service.
 *
 * The tables are explicit CIDR lists (matched with ipaddr.js) rather than ipaddr.js's own range names, so a
 * reviewer can see exactly which block maps to which class and the mapping cannot shift with a library update.
 * Order matters: the first matching row wins, so specific rows (metadata endpoints, broadcast) come before the
 * broader blocks that contain them. An address that matches no row is `public`.
 */
import ipaddr from 'ipaddr.js';
import type { AddressClass } from './types.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function table<T extends ipaddr.IPv4 | ipaddr.IPv6>(
  rows: readonly (readonly [string, AddressClass])[],
): readonly (readonly [Cidr, AddressClass])[] {
  return rows.map(([cidr, cls]) => [ipaddr.parseCIDR(cidr) as [T, number], cls] as const);
}

/** Cloud metadata and host-agent endpoints: reachable from inside a VM, never a legitimate backend by accident. */
const METADATA_V4 = table<ipaddr.IPv4>([
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure IMDS, OpenStack, Oracle, DigitalOcean
  ['168.63.129.16/32', 'metadata'], // Azure WireServer
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud
]);

const IPV4 = table<ipaddr.IPv4>([
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on many stacks
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // TEST-NET-1
  ['192.88.99.0/24', 'reserved'], // former 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'], // TEST-NET-2
  ['203.0.113.0/24', 'reserved'], // TEST-NET-3
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // future use
]);

const METADATA_V6 = table<ipaddr.IPv6>([
  ['fd00:ec2::254/128', 'metadata'], // AWS IMDS over IPv6
]);

/** IPv6 blocks that carry no embedded IPv4 address. Checked after the embedded forms have been unwrapped. */
const IPV6 = table<ipaddr.IPv6>([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'reserved'], // deprecated site-local
  ['fc00::/7', 'unique-local'],
  ['ff00::/8', 'multicast'],
  ['100::/64', 'reserved'], // discard-only
  ['2001::/23', 'reserved'], // IETF protocol assignments (Teredo is unwrapped before this row is reached)
  ['2001:db8::/32', 'reserved'], // documentation
  ['3fff::/20', 'reserved'], // documentation
  ['5f00::/16', 'reserved'], // segment routing SIDs
]);

const IPV4_MAPPED = ipaddr.parseCIDR('::ffff:0:0/96') as [ipaddr.IPv6, number];
const IPV4_TRANSLATED = ipaddr.parseCIDR('::ffff:0:0:0/96') as [ipaddr.IPv6, number];
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number];
const NAT64_LOCAL = ipaddr.parseCIDR('64:ff9b:1::/48') as [ipaddr.IPv6, number];
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16') as [ipaddr.IPv6, number];
const TEREDO = ipaddr.parseCIDR('2001::/32') as [ipaddr.IPv6, number];

/**
 * Classify one IP address (IPv4 or IPv6, no brackets, no zone). Throws TypeError when `ip` is not an IP
 * address: callers that decide on the result must treat that as a denial.
 */
export function classifyAddress(ip: string): AddressClass {
  const zone = ip.indexOf('%');
  const text = zone === -1 ? ip : ip.slice(0, zone);
  if (!ipaddr.isValid(text)) throw new TypeError('not an IP address');
  const parsed = ipaddr.parse(text);
  return parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6);
}

function classifyV4(address: ipaddr.IPv4): AddressClass {
  return lookupTable(address, METADATA_V4) ?? lookupTable(address, IPV4) ?? 'public';
}

function classifyV6(address: ipaddr.IPv6): AddressClass {
  const metadata = lookupTable(address, METADATA_V6);
  if (metadata !== undefined) return metadata;
  const embedded = embeddedIPv4(address);
  if (embedded !== undefined) {
    if (embedded === 'ambiguous') return 'reserved';
    // Several candidates (Teredo carries two): the first one that is not public decides, so an address
    // never passes as public while one of the places it can lead to is not.
    const classes = embedded.map(classifyV4);
    return classes.find((cls) => cls !== 'public') ?? 'public';
  }
  return lookupTable(address, IPV6) ?? 'public';
}

function lookupTable<T extends ipaddr.IPv4 | ipaddr.IPv6>(
  address: T,
  rows: readonly (readonly [Cidr, AddressClass])[],
): AddressClass | undefined {
  for (const [cidr, cls] of rows) {
    if (address.kind() === cidr[0].kind() && address.match(cidr)) return cls;
  }
  return undefined;
}

/**
 * The IPv4 addresses an IPv6 address leads to, or undefined when it embeds none. `'ambiguous'` for the
 * local-use NAT64 prefix when the embedding cannot be told from the address alone (the prefix length is a
 * deployment choice); callers fail closed on it.
 */
export function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4[] | 'ambiguous' | undefined {
  const bytes = address.toByteArray();
  const v4At = (offset: number): ipaddr.IPv4 => new ipaddr.IPv4(bytes.slice(offset, offset + 4));
  if (address.match(IPV4_MAPPED) || address.match(IPV4_TRANSLATED) || address.match(NAT64_WELL_KNOWN))
    return [v4At(12)];
  if (address.match(IPV4_COMPATIBLE)) {
    // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
    const isUnspecifiedOrLoopback = bytes.slice(0, 15).every((byte) => byte === 0) && (bytes[15] ?? 0) <= 1;
    return isUnspecifiedOrLoopback ? undefined : [v4At(12)];
  }
  if (address.match(NAT64_LOCAL)) {
    // Only the /96 form (bits 48-95 zero) has an unambiguous embedding.
    return bytes.slice(6, 12).every((byte) => byte === 0) ? [v4At(12)] : 'ambiguous';
  }
  if (address.match(SIX_TO_FOUR)) return [v4At(2)];
  if (address.match(TEREDO)) {
    // Teredo: server IPv4 in bits 32-63, client IPv4 (bit-inverted) in the last 32 bits.
    const client = bytes.slice(12, 16).map((byte) => byte ^ 0xff);
    return [v4At(4), new ipaddr.IPv4(client)];
  }
  return undefined;
}

/** One place an address leads to: the IPv4 address an IPv6 one embeds, or the address itself. */
export interface Destination {
  ip: ipaddr.IPv4 | ipaddr.IPv6;
  addressClass: AddressClass;
}

/**
 * What an egress rule can know about one address: every spelling it has (itself and the IPv4 addresses it
 * embeds) and every place it leads to, each with its class.
 */
export interface AddressView {
  /** The class the guard reports (`classifyAddress`). */
  addressClass: AddressClass;
  /** The address as given plus each embedded IPv4 address: a CIDR matches when it contains any of them. */
  spellings: readonly (ipaddr.IPv4 | ipaddr.IPv6)[];
  /** Where packets end up: the embedded IPv4 addresses, or the address itself when it embeds none. */
  destinations: readonly Destination[];
}

/**
 * The view of `ip`, or undefined when it is not an IP address. `reportedClass` is the class the caller
 * already determined (the guard computes it with `classifyAddress`; policy test cases may state it); it
 * stands for the address itself, while embedded IPv4 addresses are always classified here.
 */
export function viewAddress(ip: string, reportedClass?: AddressClass): AddressView | undefined {
  const zone = ip.indexOf('%');
  const text = zone === -1 ? ip : ip.slice(0, zone);
  if (!ipaddr.isValid(text)) return undefined;
  const parsed = ipaddr.parse(text);
  const addressClass =
    reportedClass ?? (parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6));
  const embedded = parsed.kind() === 'ipv6' ? embeddedIPv4(parsed as ipaddr.IPv6) : undefined;
  if (embedded === undefined || embedded === 'ambiguous') {
    return { addressClass, spellings: [parsed], destinations: [{ ip: parsed, addressClass }] };
  }
  return {
    addressClass,
    spellings: [parsed, ...embedded],
    destinations: embedded.map((v4) => ({ ip: v4, addressClass: classifyV4(v4) })),
  };
}

/** Whether one of the ranges contains the address itself. IPv4 ranges never contain IPv6 addresses as such. */
export function inRanges(address: ipaddr.IPv4 | ipaddr.IPv6, ranges: readonly Cidr[]): boolean {
  return ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
}

/**
 * Whether a rule about these ranges and classes is about this address, in any of its spellings: a rule
 * naming `169.254.169.254/32` or `metadata` matches `::ffff:169.254.169.254`, `64:ff9b::a9fe:a9fe`,
 * `2002:a9fe:a9fe::` and every other form that leads there. Used for deny rules and address-only rules.
 */
export function addressMatches(
  view: AddressView,
  ranges: readonly Cidr[],
  classes: ReadonlySet<AddressClass>,
): boolean {
  if (view.spellings.some((spelling) => inRanges(spelling, ranges))) return true;
  if (classes.has(view.addressClass)) return true;
  return view.destinations.some((destination) => classes.has(destination.addressClass));
}

/**
 * Whether an allow rule opens this address: every non-public place it leads to must be named by the rule,
 * by class or by a range containing that place. A range around an IPv6 spelling (say the NAT64 prefix)
 * does not open the IPv4 address inside it: `64:ff9b::/96` never opens `64:ff9b::a9fe:a9fe` (metadata).
 */
export function addressOpened(view: AddressView, ranges: readonly Cidr[], classes: ReadonlySet<AddressClass>): boolean {
  if (view.addressClass === 'public') return true;
  const closed = view.destinations.filter((destination) => destination.addressClass !== 'public');
  // A class the guard reports that no destination carries (an ambiguous embedding is `reserved`).
  if (closed.length === 0) return classes.has(view.addressClass);
  return closed.every((destination) => classes.has(destination.addressClass) || inRanges(destination.ip, ranges));
}
