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
): Promise<CheckedAddress[]> {
  const literal = parseHostLiteral(target.host);
  let answers: readonly LookupAddress[];
  if (literal !== undefined) {
    answers = [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
  } else if (target.host === 'localhost' || target.host.endsWith('.localhost')) {
    // RFC 6761: these names are the local host whatever a resolver says.
    answers = [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ];
  } else {
    try {
      answers = await lookup(target.host);
    } catch (error) {
      throw new EgressError('UPSTREAM_UNAVAILABLE', `could not resolve ${target.host}`, { cause: error });
    }
    if (answers.length === 0) throw new EgressError('UPSTREAM_UNAVAILABLE', `could not resolve ${target.host}`);
  }
  const checked: CheckedAddress[] = [];
  for (const answer of answers) {
    const ip = parseHostLiteral(answer.address);
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
    checked.push(address);
  }
  return checked;
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

    const attempt = (addresses: readonly CheckedAddress[], index: number): void => {
      const address = addresses[index];
      if (address === undefined) {
        callback(new EgressError('UPSTREAM_UNAVAILABLE', `could not connect to ${host}`), null);
        return;
      }
      const target = { ...connectOptions, hostname: address.ip };
      // Certificate and SNI are for the name that was decided on, never for a Host header's value; an IP
      // literal sends no SNI at all (whatever the caller's options said).
      if (isLiteral) delete target.servername;
      else target.servername = host;
      options.base(target, (...result) => {
        const [error, socket] = result;
        if (error !== null) {
          // Another checked answer may be reachable (e.g. IPv6 first on a host without IPv6 routing).
          if (index + 1 < addresses.length) attempt(addresses, index + 1);
          else callback(error, null);
          return;
        }
        options.onConnected?.(origin, socket, address);
        callback(null, socket);
      });
    };

    resolveAndCheck(target, options.lookup, options.decideAddress).then(
      (addresses) => attempt(addresses, 0),
      (error: unknown) =>
        callback(error instanceof Error ? error : new EgressError('EGRESS_DENIED', `egress to ${host} denied`), null),
    );
  };
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
