/**
 * The connect-time half of the egress guard: an undici `connect` function that resolves the host itself,
 * classifies and decides EVERY answer, and only then opens a socket, to exactly an address it checked.
 *
 * Resolving here and connecting to the checked IP (never handing the name to the socket layer) means there is
 * no second resolution an attacker-controlled DNS server could answer differently (DNS rebinding). TLS still
 * verifies the certificate against the host name: it is passed as the servername, whatever Host header or
 * SNI value the request may have carried.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import type { AddressClass } from '../../../policies/types.js';
import { classifyAddress, parseHostLiteral } from './address.js';
import { EgressDeniedError, EgressError, type EgressDenial } from './errors.js';

export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

/** Name resolution: every address the name resolves to. */
export type Lookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface ConnectTarget {
  scheme: 'http' | 'https';
  /** Lower-case host name or canonical IP literal, no brackets. */
  host: string;
  port: number;
}

export interface CheckedAddress {
  ip: string;
  addressClass: AddressClass;
}

/** Every address a host resolved to, each allowed; never empty. */
export type CheckedAddresses = readonly [CheckedAddress, ...CheckedAddress[]];

/** Decide one resolved address: undefined when allowed, the denial otherwise. Must not throw. */
export type AddressDecider = (target: ConnectTarget, address: CheckedAddress) => EgressDenial | undefined;

/**
 * Resolve `target.host` and decide every answer. Rejects with EgressDeniedError when any answer is denied
 * (one bad answer poisons the name: which answer a later connection would use is not ours to choose), and
 * with EgressError UPSTREAM_UNAVAILABLE when the name does not resolve.
 */
export async function resolveAndCheck(
  target: ConnectTarget,
  lookup: Lookup,
  decideAddress: AddressDecider,
): Promise<CheckedAddresses> {
  const [first, ...rest] = await addressesOf(target.host, lookup);
  const check = (answer: string): CheckedAddress => {
    const ip = parseHostLiteral(answer);
    if (ip === undefined) {
      throw new EgressDeniedError({
        ...target,
        rules: [],
        reason: 'the resolver returned something that is not an IP address',
      });
    }
    const address: CheckedAddress = { ip, addressClass: classifyAddress(ip) };
    const denial = decideAddress(target, address);
    if (denial !== undefined) throw new EgressDeniedError(denial);
    return address;
  };
  // In the resolver's order, stopping at the first denial.
  return [check(first), ...rest.map(check)];
}

/** At least one address, as given by the resolver (checked by the caller), for a host name or IP literal. */
async function addressesOf(host: string, lookup: Lookup): Promise<readonly [string, ...string[]]> {
  const literal = parseHostLiteral(host);
  if (literal !== undefined) return [literal];
  // RFC 6761: these names are the local host whatever a resolver says.
  if (host === 'localhost' || host.endsWith('.localhost')) return ['127.0.0.1', '::1'];
  let answers: readonly LookupAddress[];
  try {
    answers = await lookup(host);
  } catch (error) {
    throw new EgressError('UPSTREAM_UNAVAILABLE', `could not resolve ${host}`, { cause: error });
  }
  const [first, ...rest] = answers.map((answer) => answer.address);
  if (first === undefined) throw new EgressError('UPSTREAM_UNAVAILABLE', `could not resolve ${host}`);
  return [first, ...rest];
}

export interface GuardedConnectOptions {
  /** The socket opener (undici's buildConnector result); only ever called with a checked IP. */
  base: buildConnector.connector;
  lookup: Lookup;
  decideAddress: AddressDecider;
  /** Told about every socket opened, with the origin it serves (`scheme://host[:port]`) and the address checked. */
  onConnected?: (origin: string, socket: Socket, address: CheckedAddress) => void;
}

export function createGuardedConnect(options: GuardedConnectOptions): buildConnector.connector {
  return (connectOptions, callback) => {
    const scheme = connectOptions.protocol === 'https:' ? 'https' : 'http';
    const host = stripBrackets(connectOptions.hostname).toLowerCase();
    const port = Number(connectOptions.port) || (scheme === 'https' ? 443 : 80);
    const target: ConnectTarget = { scheme, host, port };
    const origin = `${connectOptions.protocol}//${connectOptions.host ?? host}`;
    const isLiteral = parseHostLiteral(host) !== undefined;

    const attempt = (address: CheckedAddress, untried: readonly CheckedAddress[]): void => {
      const target = { ...connectOptions, hostname: address.ip };
      // Certificate and SNI are for the name that was decided on, never for a Host header's value; an IP
      // literal sends no SNI at all (whatever the caller's options said).
      if (isLiteral) delete target.servername;
      else target.servername = host;
      options.base(target, (...result) => {
        const [error, socket] = result;
        if (error !== null) {
          // Another checked answer may be reachable (e.g. IPv6 first on a host without IPv6 routing).
          const [next, ...rest] = untried;
          if (next === undefined) callback(error, null);
          else attempt(next, rest);
          return;
        }
        options.onConnected?.(origin, socket, address);
        callback(null, socket);
      });
    };

    resolveAndCheck(target, options.lookup, options.decideAddress).then(
      ([first, ...rest]) => attempt(first, rest),
      (error: unknown) =>
        callback(error instanceof Error ? error : new EgressError('EGRESS_DENIED', `egress to ${host} denied`), null),
    );
  };
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
