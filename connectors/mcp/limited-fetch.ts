/**
 * The fetch the connector hands to its Streamable HTTP transport. It bounds every exchange itself, so the
 * limits hold whatever the SDK does with the requests:
 *
 * - Deadline: every request except the event streams that live as long as the connection (the standalone
 *   GET stream of a 2025 session, a 2026-07-28 `subscriptions/listen` request) is aborted after `timeoutMs`, body
 *   included. A request made for a call is also aborted when that call ends, however it ends (answer,
 *   timeout, cancellation, refused response), so its socket is released instead of waiting on a server
 *   that may never answer.
 * - Size: a JSON body is capped as a whole, an event stream per event (the standalone stream lives as long
 *   as the session, so a total would eventually cut it). Bytes are counted as they stream in; crossing the
 *   cap cancels the body and fails the call it belongs to with RESPONSE_TOO_LARGE.
 * - Scope: a request made for a call goes out through that call's own fetch (the gateway's egress scope of
 *   the calling agent, tool and task); everything else through the connection-level fetch.
 */
import type { FetchLike } from '../contract.js';
import { capStream, totalBytesCounter, type ByteCounter } from '../capped-stream.js';
import { ConnectorError } from '../errors.js';
import { currentCallScope } from './call-scope.js';

export interface LimitedFetchOptions {
  /** Connection-level fetch (the gateway's egress-guarded fetch), else the global fetch. */
  base: FetchLike | undefined;
  timeoutMs: number;
  maxMessageBytes: number;
}

export function createLimitedFetch(options: LimitedFetchOptions): FetchLike {
  const { timeoutMs, maxMessageBytes } = options;
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const requests = method === 'POST' ? requestMethods(init?.body) : [];
    const scope = requests.length > 0 ? currentCallScope() : undefined;
    const longLived = method === 'GET' || (requests.length === 1 && requests[0] === 'subscriptions/listen');
    const fetch = scope?.fetch ?? options.base ?? globalThis.fetch;

    const signals: AbortSignal[] = [];
    if (init?.signal !== undefined && init.signal !== null) signals.push(init.signal);
    if (scope !== undefined) signals.push(scope.signal);
    let timer: NodeJS.Timeout | undefined;
    if (!longLived) {
      const deadline = new AbortController();
      timer = setTimeout(
        () => deadline.abort(new ConnectorError('UPSTREAM_TIMEOUT', 'the upstream MCP server did not answer in time')),
        timeoutMs,
      );
      timer.unref();
      signals.push(deadline.signal);
    }
    const settle = (): void => clearTimeout(timer);

    let response: Response;
    try {
      response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      settle();
      throw error;
    }
    const body = response.body;
    if (body === null) {
      settle();
      return response;
    }
    const tooLarge = (): ConnectorError => {
      const error = new ConnectorError(
        'RESPONSE_TOO_LARGE',
        `a message from the upstream MCP server exceeds the limit of ${maxMessageBytes} bytes`,
      );
      scope?.fail(error);
      return error;
    };
    const isEventStream = mediaType(response.headers.get('content-type')) === 'text/event-stream';
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (!isEventStream && Number.isFinite(declared) && declared > maxMessageBytes) {
      settle();
      await body.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const limited = capStream(body, {
      crossed: isEventStream ? eventCounter(maxMessageBytes) : totalBytesCounter(maxMessageBytes),
      tooLarge,
      onSettled: settle,
    });
    return new Response(limited, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The methods of the JSON-RPC requests in a body (one message or a batch); requests await an answer. */
function requestMethods(body: unknown): string[] {
  if (typeof body !== 'string') return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    return messages
      .filter(
        (m): m is { method: unknown } =>
          typeof m === 'object' && m !== null && 'method' in m && 'id' in m && (m as { id: unknown }).id !== null,
      )
      .map((m) => String(m.method));
  } catch {
    return [];
  }
}

function mediaType(contentType: string | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Bytes of the current server-sent event: an event ends at a blank line (two line ends in a row, where a
 * line end is CR, LF or CRLF).
 */
function eventCounter(max: number): ByteCounter {
  let eventBytes = 0;
  let lineEnds = 0;
  let previous = -1;
  return (chunk) => {
    for (const byte of chunk) {
      if (byte === 0x0a) {
        if (previous !== 0x0d) lineEnds += 1;
      } else if (byte === 0x0d) {
        lineEnds += 1;
      } else {
        lineEnds = 0;
      }
      previous = byte;
      if (lineEnds >= 2) {
        eventBytes = 0;
        continue;
      }
      eventBytes += 1;
      if (eventBytes > max) return true;
    }
    return false;
  };
}
