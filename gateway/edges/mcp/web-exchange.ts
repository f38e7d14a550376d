/**
 * Node HTTP <-> web-standard `Request`/`Response` for the SDK's web-standard MCP handlers (the 2025-era
 * session transport and the 2026-07-28 handler), in place of the SDK's Node adapters.
 *
 * Why not the SDK's adapters: they cost the gateway more socket writes than the exchange needs. A response
 * was written as headers (flushed on their own), then each body chunk, then the end of the chunked body:
 * three writes, and three wake-ups of the agent's socket, for a call answered with one SSE event. Here the
 * headers go out with the first chunk of the body, and a body that is complete by then (one JSON-RPC
 * response, JSON or SSE) goes out in a single write with a Content-Length. Nothing is held back: a chunk
 * is written as soon as it is known whether more is already queued behind it, and a POST response whose
 * first chunk is slow (a long call) has its headers flushed after `HEADERS_DEADLINE_MS`, a GET stream at
 * once, so an agent sees its stream open as before.
 *
 * Requests are built once per exchange from the already parsed body (never re-serialised): the handlers
 * take the parsed body beside the request, so the request carries the method, URL, headers and, for the
 * handlers that read it, an abort signal that fires when the agent goes away before the response is
 * complete.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A POST response with nothing to say yet shows the agent its headers after this long. */
export const HEADERS_DEADLINE_MS = 1000;

export interface FetchRequestOptions {
  /**
   * Whether the request's signal aborts when the agent goes away before the response is complete (default
   * true). The 2026-07-28 handler reads that signal. The 2025 session transport never does: it learns that
   * the agent left from its response stream being cancelled (sendFetchResponse). Its requests are built
   * without one, which halves what undici's Request constructor does (a signal of its own following the
   * given one, and a finalizer to unlink them).
   */
  followAgent?: boolean;
}

/** The web-standard request for one Node exchange (no body: the handlers are given the parsed one). */
export function toFetchRequest(req: IncomingMessage, res: ServerResponse, options: FetchRequestOptions = {}): Request {
  // Origin-form (`/mcp`) as agents send it; a target in absolute-form (`http://host/mcp`, as proxies send
  // it) is already the URL.
  const target = req.url ?? '/';
  const url = target.startsWith('/') ? `http://${req.headers.host ?? 'localhost'}${target}` : target;
  const method = req.method ?? 'GET';
  let request: Request;
  if (options.followAgent === false) request = new Request(url, { method });
  else {
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    request = new AgentRequest(url, { method }, abort.signal);
  }
  // Into the request's own header list: a `Headers` given in the init would be built and then copied.
  const headers = request.headers;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) !== 58 /* ':' HTTP/2 pseudo-headers */) headers.append(name, raw[i + 1]!);
  }
  return request;
}

/**
 * A request whose `signal` is the agent's own: it aborts when the agent goes away before the response is
 * complete. Given to undici's constructor instead (`signal` in the init), the signal cost a request more
 * than twice as long to build as one without: undici makes a signal of its own that follows the given one
 * and registers a finalizer to unlink them. Nothing reads the signal but through this property (the
 * handlers are given the parsed body and never clone the request).
 */
class AgentRequest extends Request {
  readonly #agentSignal: AbortSignal;

  constructor(url: string, init: RequestInit, agentSignal: AbortSignal) {
    super(url, init);
    this.#agentSignal = agentSignal;
  }

  // An accessor in place of the property the web types declare (TypeScript would not allow overriding it).
  static {
    Object.defineProperty(AgentRequest.prototype, 'signal', {
      configurable: true,
      get(this: AgentRequest): AbortSignal {
        return this.#agentSignal;
      },
    });
  }
}

const MORE = Symbol('more');
/** A few microtask turns: long enough for a handler that enqueues a message and then closes its stream. */
const soon = (): Promise<typeof MORE> =>
  Promise.resolve()
    .then(() => undefined)
    .then(() => undefined)
    .then(() => MORE);

/**
 * Writes a web-standard response to the Node response: status and headers with the first body chunk,
 * a body that is already complete in one write, later chunks as they come, with backpressure. When the
 * agent goes away the body stream is cancelled, which tells the handler its stream is gone.
 */
export async function sendFetchResponse(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') res.appendHeader(name, value);
    else res.setHeader(name, value);
  }
  const body = response.body;
  if (body === null) {
    res.end();
    return;
  }
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  res.once('close', cancel);
  let deadline: NodeJS.Timeout | undefined;
  if (res.req?.method === 'GET') res.flushHeaders();
  else {
    deadline = setTimeout(() => {
      if (!res.headersSent && !res.writableEnded && !res.destroyed) res.flushHeaders();
    }, HEADERS_DEADLINE_MS);
    deadline.unref();
  }
  try {
    let next = reader.read();
    for (;;) {
      const first = await next;
      if (first.done) break;
      if (res.destroyed) return;
      // Already queued behind this chunk (the end of a one-message body, usually)? Then write both together.
      next = reader.read();
      const after = await Promise.race([next, soon()]);
      if (after !== MORE && after.done) {
        if (deadline !== undefined) clearTimeout(deadline);
        res.end(first.value);
        return;
      }
      if (deadline !== undefined) clearTimeout(deadline);
      if (!res.write(first.value)) await drained(res);
    }
  } catch {
    // The stream failed or was cancelled: end what was written.
  } finally {
    if (deadline !== undefined) clearTimeout(deadline);
    res.off('close', cancel);
  }
  if (!res.writableEnded) res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
