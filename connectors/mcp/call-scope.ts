/**
 * The call an upstream request is made for, carried through an async context from the connector's
 * `upstream()` down to its own fetch and stdio transport (the SDK sits in between and knows nothing of it).
 *
 * Through it the transports bound each call on their own terms: the HTTP exchange of a call is aborted
 * (and its socket released) when the call ends, times out or is cancelled; a response refused for its size
 * fails the call it belongs to with RESPONSE_TOO_LARGE; and a call's requests go out through the per-call
 * fetch (the egress scope of the calling agent, tool and task).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FetchLike } from '../contract.js';
import type { ConnectorError } from '../errors.js';

export interface UpstreamCallScope {
  /** Aborted when the call is over (answered, failed, timed out or cancelled). */
  readonly signal: AbortSignal;
  /** The gateway's fetch for this call, when it gave one. */
  readonly fetch?: FetchLike | undefined;
  /** End the call with this error at once (first failure wins). */
  fail(error: ConnectorError): void;
}

const storage = new AsyncLocalStorage<UpstreamCallScope>();

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
