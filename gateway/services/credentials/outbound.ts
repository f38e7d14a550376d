/**
 * Outbound request hygiene, applied to every backend request after the connector built it and before the
 * egress guard sends it: identity headers an agent could have influenced are removed, then the call's own
 * credential (if any) is set. The agent's token is never among the headers, so it can never travel upstream.
 */
import type { FetchLike } from '../../../connectors/contract.js';
import { routingHeaderProblem } from '../../../connectors/request-hygiene.js';

const STRIPPED_PREFIXES = ['x-forwarded-', 'x-portcullis-'];
const STRIPPED_NAMES = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'forwarded',
  'x-real-ip',
  'x-original-url',
  'x-rewrite-url',
]);

/** Sets the backend credential on a request, e.g. `Authorization: Bearer <call credential>` or an API-key header. */
export type CredentialInjector = (headers: Headers, request: { url: string; method: string }) => Promise<void> | void;

export function withOutboundHygiene(fetch: FetchLike, inject?: CredentialInjector): FetchLike {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    for (const name of [...headers.keys()]) {
      // Routing and method-override names never get here from a connector's configuration (they are
      // configuration errors); removing them again keeps that true for anything else that builds a request.
      if (
        STRIPPED_NAMES.has(name) ||
        STRIPPED_PREFIXES.some((prefix) => name.startsWith(prefix)) ||
        routingHeaderProblem(name) !== undefined
      )
        headers.delete(name);
    }
    const url = typeof input === 'string' ? input : input.toString();
    if (inject !== undefined) await inject(headers, { url, method: (init?.method ?? 'GET').toUpperCase() });
    return fetch(input, { ...init, headers });
  };
}
