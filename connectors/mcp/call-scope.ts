/**
 * The call an upstream request is made for, carried through an async context from the connector's
 * `upstream()` down to its own fetch and stdio transport (the SDK sits in between and knows nothing of it).
 *
 * Through it the transports bound each call on their own terms: the HTTP exchange of a call is aborted
 * (and its socket released) when the call ends, times out or is cancelled; a response refused for its size
 * fails the call it belongs to with RESPONSE_TOO_LARGE; and a call's requests go out through the per-call
 * fetch (the egress scope of the calling agent, tool and task).
 *
 * The scope also follows what comes back on a call's own exchange: the Streamable HTTP transport reads a
 * call's response stream in the scope the request was sent in, so a server-to-client request or a log
 * message read from that stream is handled in the scope of the call it belongs to (`call`). Transports
 * whose messages are not tied to one call (stdio) deliver them outside any scope.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectorContext, FetchLike } from '../contract.js';
import { ConnectorError } from '../errors.js';

export interface UpstreamCallScope {
  /** Aborted when the call is over (answered, failed, timed out or cancelled). */
  readonly signal: AbortSignal;
  /** The gateway's fetch for this call, when it gave one. */
  readonly fetch?: FetchLike | undefined;
  /** The call itself, when the scope was opened for one. */
  readonly call?: ConnectorContext | undefined;
  /** End the call with this error at once (first failure wins). */
  fail(error: ConnectorError): void;
}

const storage = new AsyncLocalStorage<UpstreamCallScope>();

/**
 * The reason a call's exchange is aborted with once the call is over. One shared value: an abort without
 * a reason builds a DOMException (with its stack) on every call, and nothing reads this one but an
 * exchange still in flight for a call nobody waits on any more.
 */
export const CALL_OVER = new ConnectorError('CANCELLED', 'the call is over');

export function runInCallScope<T>(scope: UpstreamCallScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** The scope of the call the current code runs for, if any. */
export function currentCallScope(): UpstreamCallScope | undefined {
  return storage.getStore();
}

/**
 * Run `fn` outside any call's scope: for background work (reconnecting, re-listing) that may be started
 * while a call's context is active but does not belong to that call.
 */
export function outsideCallScope<T>(fn: () => T): T {
  return storage.exit(fn);
}

export interface CallBounds {
  /** The scope to run the call's requests in. */
  readonly scope: UpstreamCallScope;
  /** Rejects with the failure once the deadline passes or `scope.fail` is called; never resolves. */
  readonly failed: Promise<never>;
  /** The failure that ended the call, if one did. */
  failure(): ConnectorError | undefined;
  /** The call is over, however it ended: stop the deadline and abort whatever is still in flight for it. */
  end(): void;
}

/**
 * The bounds of one upstream call: a deadline of `timeoutMs`, and a failure path shared with the transports.
 * On failure, `onFail` is told first (to cancel the request upstream), then the call's exchange is aborted
 * and `failed` rejects.
 */
export function boundCall(
  call: ConnectorContext,
  timeoutMs: number,
  onFail: (error: ConnectorError) => void,
): CallBounds {
  const exchange = new AbortController();
  let failure: ConnectorError | undefined;
  let rejectFailed: (error: ConnectorError) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => undefined);
  const fail = (error: ConnectorError): void => {
    if (failure !== undefined) return;
    failure = error;
    onFail(error);
    exchange.abort(error);
    rejectFailed(error);
  };
  const deadline = setTimeout(
    () => fail(new ConnectorError('UPSTREAM_TIMEOUT', 'the upstream MCP server did not answer in time')),
    timeoutMs,
  );
  deadline.unref();
  return {
    scope: { signal: exchange.signal, fetch: call.fetch, call, fail },
    failed,
    failure: () => failure,
    end() {
      clearTimeout(deadline);
      exchange.abort(CALL_OVER);
    },
  };
}
