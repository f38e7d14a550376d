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
 * once, so an agent sees its stream open as before. A JSON response whose bytes are known when it is built
 * (`jsonResponse`, for a 2026-07-28 result: per-request-transport.ts) has no stream at all and is written
 * at once. An answer put on an event stream as an `answerChunk` (a 2025 session's answer in the `auto`
 * response mode: session-answers.ts) is written as one JSON body when it is all the stream carries and the
 * headers are still unsent, else as the event the SDK would have written.
 *
 * Requests are built once per exchange from the already parsed body (never re-serialised): the handlers
 * take the parsed body beside the request, so the request carries the method, URL, headers and, for the
 * handlers that read it, an abort signal that fires when the agent goes away before the response is
 * complete. They read those from the Node request as they are asked for (`ExchangeRequest`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_TOKEN } from '../../../connectors/contract.js';
import { jsonByteLength, messageJson, messageJsonBytes, type JsonParts } from '../../kernel/index.js';

/** A POST response with nothing to say yet shows the agent its headers after this long. */
export const HEADERS_DEADLINE_MS = 1000;

/**
 * How the MCP edge answers a request (`http.responseMode`). `auto`: one JSON body when the answer is ready
 * with nothing streamed before it and within `HEADERS_DEADLINE_MS`, else an event stream; `sse`: always an
 * event stream; `json`: always one JSON body.
 */
export type ResponseMode = 'auto' | 'sse' | 'json';

export interface FetchRequestOptions {
  /**
   * Whether the request's signal aborts when the agent goes away before the response is complete (default
   * true). The 2026-07-28 handler reads that signal. The 2025 session transport never does: it learns that
   * the agent left from its response stream being cancelled (sendFetchResponse). Its requests are built
   * without one: no abort controller and no listener on the response for every message.
   */
  followAgent?: boolean;
}

/** The web-standard request for one Node exchange (no body: the handlers are given the parsed one). */
export function toFetchRequest(req: IncomingMessage, res: ServerResponse, options: FetchRequestOptions = {}): Request {
  // Origin-form (`/mcp`) as agents send it; a target in absolute-form (`http://host/mcp`, as proxies send
  // it) is already the URL.
  const target = req.url ?? '/';
  const url = target.startsWith('/') ? `http://${req.headers.host ?? 'localhost'}${target}` : target;
  let signal: AbortSignal | undefined;
  if (options.followAgent !== false) {
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    signal = abort.signal;
  }
  return new ExchangeRequest(
    url,
    req.method ?? 'GET',
    new ExchangeHeaders(req.rawHeaders),
    signal,
  ) as unknown as Request;
}

/**
 * The request's headers, read from the Node request's raw header list when they are asked for. What the
 * handlers ask (`get` and `has`, for a few names a request) is answered as undici's `Headers` answers it:
 * names without regard to case, the values of a repeated header joined with ", " in the order received
 * (Node's parser has already checked names and values and trimmed the values). Anything else (iteration,
 * changes, an invalid name, whose error is undici's) goes to a real `Headers` of the same list, built the
 * first time, which answers from then on.
 */
class ExchangeHeaders {
  readonly #raw: readonly string[];
  #real: Headers | undefined;

  constructor(raw: readonly string[]) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    if (this.#real !== undefined || !HTTP_TOKEN.test(name)) return this.real().get(name);
    const wanted = name.toLowerCase();
    const raw = this.#raw;
    let value: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const candidate = raw[i]!;
      if (candidate.length === wanted.length && candidate.toLowerCase() === wanted)
        value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
    }
    return value;
  }

  /** As undici's: whether `get` finds a value (and the same error for an invalid name). */
  has(name: string): boolean {
    return this.get(name) !== null;
  }

  /** The real `Headers` of the raw list (HTTP/2 pseudo-headers left out), built once. */
  real(): Headers {
    if (this.#real === undefined) {
      const headers = new Headers();
      const raw = this.#raw;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i]!;
        if (name.charCodeAt(0) !== 58 /* ':' HTTP/2 pseudo-headers */) headers.append(name, raw[i + 1]!);
      }
      this.#real = headers;
    }
    return this.#real;
  }

  static {
    delegateTo(ExchangeHeaders.prototype, Headers.prototype, (headers: ExchangeHeaders) => headers.real());
  }
}

/**
 * The request the handlers are given: its method, URL, headers and signal, without building a `Request`.
 * undici's constructor parses the URL, copies every header into a list of its own, checking again what
 * Node's parser checked, and sets up state (body, cache mode, referrer...) that the handlers, given the
 * parsed body, never read: a few microseconds of every call, and its garbage. It is a `Request` to
 * `instanceof`; any other member (the body, `clone`, the fetch options) is served by a real `Request` with
 * the same URL, method, headers and signal, built the first time one is read. Its signal, when it has
 * one, aborts when the agent goes away before the response is complete; without one it is the real
 * request's, which never aborts.
 */
class ExchangeRequest {
  readonly #url: string;
  readonly #method: string;
  readonly #headers: ExchangeHeaders;
  readonly #signal: AbortSignal | undefined;
  #real: Request | undefined;

  constructor(url: string, method: string, headers: ExchangeHeaders, signal: AbortSignal | undefined) {
    this.#url = url;
    this.#method = method;
    this.#headers = headers;
    this.#signal = signal;
  }

  get url(): string {
    return this.#url;
  }

  get method(): string {
    return this.#method;
  }

  get headers(): Headers {
    return this.#headers as unknown as Headers;
  }

  get signal(): AbortSignal {
    return this.#signal ?? this.real().signal;
  }

  /** The real `Request`, built once. */
  real(): Request {
    this.#real ??= new Request(this.#url, {
      method: this.#method,
      headers: this.#headers.real(),
      ...(this.#signal !== undefined ? { signal: this.#signal } : {}),
    });
    return this.#real;
  }

  static {
    delegateTo(ExchangeRequest.prototype, Request.prototype, (request: ExchangeRequest) => request.real());
  }
}

/**
 * Makes `prototype` inherit from `web` (so its objects are `instanceof` the web class) and answer every
 * member of `web` it does not define itself from the real object `realOf` gives: the web class's own
 * accessors and methods check that they are called on one of its objects, so none may run on ours.
 */
function delegateTo<T extends object>(prototype: T, web: object, realOf: (self: T) => object): void {
  Object.setPrototypeOf(prototype, web);
  for (const key of Reflect.ownKeys(web)) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(prototype, key)) continue;
    const member = Object.getOwnPropertyDescriptor(web, key)!;
    if (member.get !== undefined) {
      const read = member.get;
      Object.defineProperty(prototype, key, {
        configurable: true,
        get(this: T) {
          return read.call(realOf(this));
        },
      });
    } else if (typeof member.value === 'function') {
      const method = member.value as (...args: unknown[]) => unknown;
      Object.defineProperty(prototype, key, {
        configurable: true,
        writable: true,
        value(this: T, ...args: unknown[]) {
          return method.apply(realOf(this), args);
        },
      });
    }
  }
}

/**
 * A JSON response whose JSON is already known (a string, or bytes in parts: `messageJson`): what
 * `Response.json` answers, without the web stream undici wraps around the bytes (built and filled for every
 * response, then read back by `sendFetchResponse`). `sendFetchResponse` writes it at once. It is a
 * `Response` to `instanceof`; any member read from it (headers, body, `json()`...) is served by a real
 * `Response` with the same status, `content-type` and bytes, built the first time one is read.
 */
class JsonBytesResponse {
  readonly #status: number;
  readonly #json: string | JsonParts;
  #real: Response | undefined;

  constructor(status: number, json: string | JsonParts) {
    this.#status = status;
    this.#json = json;
  }

  get status(): number {
    return this.#status;
  }

  /** The real `Response`, built once. */
  real(): Response {
    this.#real ??= new Response(typeof this.#json === 'string' ? this.#json : Buffer.concat(this.#json), {
      status: this.#status,
      headers: { 'content-type': 'application/json' },
    });
    return this.#real;
  }

  /** The JSON of a response built by `jsonResponse`, else undefined. */
  static jsonOf(response: Response): string | JsonParts | undefined {
    return #json in response ? response.#json : undefined;
  }

  static {
    delegateTo(JsonBytesResponse.prototype, Response.prototype, (response: JsonBytesResponse) => response.real());
  }
}

/** As `Response.json(value, { status })`, for a response `sendFetchResponse` writes. */
export function jsonResponse(value: unknown, status = 200): Response {
  return new JsonBytesResponse(status, messageJson(value)) as unknown as Response;
}

/** Whether `response` was built by `jsonResponse` (its bytes are written without a stream). */
export function isJsonResponse(response: Response): boolean {
  return JsonBytesResponse.jsonOf(response) !== undefined;
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
  const known = JsonBytesResponse.jsonOf(response);
  if (known !== undefined) {
    res.setHeader('content-type', 'application/json');
    endWithJson(res, known);
    return;
  }
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
        if (ANSWER_CHUNKS.has(first.value) && !res.headersSent) {
          answerAsJson(res);
          res.end(first.value);
        } else res.end(sseFrameOf(first.value));
        return;
      }
      if (deadline !== undefined) clearTimeout(deadline);
      if (!res.write(sseFrameOf(first.value))) await drained(res);
    }
  } catch {
    // The stream failed or was cancelled: end what was written.
  } finally {
    if (deadline !== undefined) clearTimeout(deadline);
    res.off('close', cancel);
  }
  if (!res.writableEnded) res.end();
}

/** Chunks made by `answerChunk`: a JSON-RPC answer's JSON, not yet an event. */
const ANSWER_CHUNKS = new WeakSet<Uint8Array>();

/** How the SDK's session transport frames a message with no event id: `event: message`, `data:` its JSON. */
const EVENT_PREFIX = 'event: message\ndata: ';
const EVENT_SUFFIX = '\n\n';
const EVENT_START = Buffer.from(EVENT_PREFIX);
const EVENT_END = Buffer.from(EVENT_SUFFIX);

/** The event the SDK's session transport writes for a message (its JSON) with no event id. */
export function messageEvent(json: string | JsonParts): string | JsonParts {
  return typeof json === 'string' ? `${EVENT_PREFIX}${json}${EVENT_SUFFIX}` : [EVENT_START, ...json, EVENT_END];
}

/** Writes `body` on `res`: a string, or its parts one after the other. */
export function writeJson(res: ServerResponse, body: string | JsonParts): void {
  if (typeof body === 'string') res.write(body);
  else for (const part of body) res.write(part);
}

/** Ends `res` with `body` as the whole of its body, its length given with it. */
export function endWithJson(res: ServerResponse, body: string | JsonParts): void {
  if (typeof body === 'string') {
    res.end(body);
    return;
  }
  if (!res.headersSent) res.setHeader('content-length', jsonByteLength(body));
  writeJson(res, body);
  res.end();
}

/** The SDK's interval between keep-alive comments on an event stream, and the comment. */
export const KEEP_ALIVE_MS = 15_000;
export const KEEP_ALIVE_COMMENT = ': keepalive\n\n';

/** The headers the SDK's session transport answers a POST's event stream with (the session id aside). */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * A JSON-RPC answer (a result or an error) to put on an event stream in place of its event:
 * `sendFetchResponse` writes it as the whole response body, as JSON, when it is all the stream carries, and
 * otherwise as the event `event: message`, `data:` its JSON, exactly as the SDK's session transport writes
 * a message with no event id.
 */
export function answerChunk(message: unknown): Uint8Array {
  const chunk = messageJsonBytes(message);
  ANSWER_CHUNKS.add(chunk);
  return chunk;
}

/** The bytes to write for a chunk of an event stream: an `answerChunk` as its event, any other as it is. */
function sseFrameOf(chunk: Uint8Array): Uint8Array {
  return ANSWER_CHUNKS.has(chunk) ? Buffer.concat([EVENT_START, chunk, EVENT_END]) : chunk;
}

const EVENT_STREAM_HEADER_NAMES = Object.keys(EVENT_STREAM_HEADERS);

/** The headers of a JSON body in place of the event stream's (those the SDK sets for a stream go). */
function answerAsJson(res: ServerResponse): void {
  for (const name of EVENT_STREAM_HEADER_NAMES) res.removeHeader(name);
  res.setHeader('content-type', 'application/json');
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
