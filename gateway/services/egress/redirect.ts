/**
 * Redirect handling as fetch does it ("HTTP-redirect fetch" in the Fetch standard), done by the guard itself
 * so every hop is decided again before anything is sent to it.
 *
 * Differences from fetch, all in the direction of sending less: besides `authorization`, a hop that changes
 * origin also loses `cookie` and `proxy-authorization`; a Location with a scheme other than http/https is an
 * egress denial rather than a generic network error.
 */
import { EgressDeniedError, EgressError } from './errors.js';

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers dropped when a redirect leaves the origin they were meant for. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/** Headers that describe a request body; dropped together with the body when a redirect switches to GET. */
const BODY_HEADERS = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
] as const;

export type RequestBody = RequestInit['body'];

export interface HopRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: RequestBody;
}

/**
 * The request for the next hop, or undefined when the response is not a redirect to follow (not a redirect
 * status, or no Location: fetch then hands the 3xx response to the caller). Throws EgressDeniedError for a
 * Location that is not an http(s) URL, EgressError UPSTREAM_ERROR for a malformed Location or a streamed body
 * that would have to be sent again.
 */
export function nextHop(current: HopRequest, status: number, location: string | null): HopRequest | undefined {
  if (!REDIRECT_STATUSES.has(status) || location === null) return undefined;
  let url: URL;
  try {
    // Location is resolved against the URL that answered, as HTTP and fetch define it.
    url = new URL(location, current.url);
  } catch {
    throw new EgressError('UPSTREAM_ERROR', `redirect from ${current.url.host} has an invalid Location`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EgressDeniedError({
      scheme: url.protocol.slice(0, -1),
      host: '',
      port: 0,
      rules: [],
      reason: 'only http and https redirects are followed',
    });
  }
  const headers = new Headers(current.headers);
  let method = current.method;
  let body = current.body;
  const method303 = status === 303 && method !== 'GET' && method !== 'HEAD';
  if (method303 || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = null;
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (body !== null && body !== undefined && !isReplayable(body)) {
    throw new EgressError(
      'UPSTREAM_ERROR',
      `redirect from ${current.url.host} needs the request body again, but it was a stream`,
    );
  }
  if (url.origin !== current.url.origin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  }
  return { url, method, headers, body };
}

/** Bodies that fetch can send twice; streams and async iterables are consumed by the first send. */
function isReplayable(body: NonNullable<RequestBody>): boolean {
  return (
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof URLSearchParams ||
    body instanceof FormData
  );
}
