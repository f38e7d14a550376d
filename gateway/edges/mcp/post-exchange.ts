/**
 * One POST's answer written on the Node response the way the SDK's transports write it, for requests the
 * gateway hands to an SDK server without the SDK's web-standard exchange (session-requests.ts for 2025
 * sessions, modern-calls.ts for 2026-07-28 calls): the answer alone as one JSON body; anything the server
 * sends for the request before it (progress, a log message, a request of its own) as an event stream, with
 * a keep-alive comment every `keepAliveMs`, that the answer ends as its last event.
 *
 * The exchange is done once it is answered, abandoned, closed, or the agent goes away first; `onDone` is
 * then called once, and nothing more is written.
 */
import type { ServerResponse } from 'node:http';
import type { JsonParts } from '../../kernel/index.js';
import { EVENT_STREAM_HEADERS, KEEP_ALIVE_COMMENT, endWithJson, messageEvent, writeJson } from './web-exchange.js';

export interface PostExchangeOptions {
  keepAliveMs: number;
  /** Sent with the answer and the event stream's headers, as the SDK's session transport sends it. */
  sessionId?: string;
  /**
   * When an unanswered request's event-stream headers go out, as the SDK's session transport sends them;
   * undefined: not before something is sent (the SDK's per-request transport).
   */
  headersDeadlineMs?: number;
  /** The agent went away before the answer. */
  onGone?: () => void;
  onDone: () => void;
}

export class PostExchange {
  #streaming = false;
  #done = false;
  #deadline: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: PostExchangeOptions,
  ) {
    if (options.headersDeadlineMs !== undefined) {
      this.#deadline = setTimeout(() => this.#openStream(true), options.headersDeadlineMs);
      this.#deadline.unref();
    }
    res.once('close', this.#onClose);
  }

  /** A message for the request before its answer (its JSON): it goes out as an event; none once done. */
  event(json: string | JsonParts): void {
    if (this.#done) return;
    this.#openStream(false);
    writeJson(this.res, messageEvent(json));
  }

  /** The answer (its JSON), which ends the exchange: `status` when it is all the response says; none once done. */
  answer(json: string | JsonParts, status = 200): void {
    if (this.#done) return;
    const streaming = this.#streaming;
    this.#finish();
    if (streaming) {
      // The event stream's headers are out (with its first event, or at the deadline): no length is given.
      endWithJson(this.res, messageEvent(json));
      return;
    }
    this.res.statusCode = status;
    this.res.setHeader('content-type', 'application/json');
    if (this.options.sessionId !== undefined) this.res.setHeader('mcp-session-id', this.options.sessionId);
    endWithJson(this.res, json);
  }

  /** Forgets the exchange without writing to it. */
  abandon(): void {
    if (!this.#done) this.#finish();
  }

  /**
   * Ends the exchange unanswered: with `unstreamedStatus` and no body when nothing was sent yet, else as
   * an event stream that ends.
   */
  close(unstreamedStatus?: number): void {
    if (this.#done) return;
    if (!this.#streaming && unstreamedStatus !== undefined) this.res.statusCode = unstreamedStatus;
    else this.#openStream(false);
    this.#finish();
    this.res.end();
  }

  #openStream(flush: boolean): void {
    if (this.#streaming || this.#done) return;
    this.#streaming = true;
    clearTimeout(this.#deadline);
    this.res.statusCode = 200;
    for (const [name, value] of Object.entries(EVENT_STREAM_HEADERS)) this.res.setHeader(name, value);
    if (this.options.sessionId !== undefined) this.res.setHeader('mcp-session-id', this.options.sessionId);
    if (flush) this.res.flushHeaders();
    this.#keepAlive = setInterval(() => this.res.write(KEEP_ALIVE_COMMENT), this.options.keepAliveMs);
    this.#keepAlive.unref();
  }

  /** No more writes or timers for this request. */
  #finish(): void {
    this.#done = true;
    clearTimeout(this.#deadline);
    clearInterval(this.#keepAlive);
    this.res.off('close', this.#onClose);
    this.options.onDone();
  }

  readonly #onClose = (): void => {
    if (this.#done || this.res.writableFinished) return;
    this.#finish();
    this.options.onGone?.();
  };
}
