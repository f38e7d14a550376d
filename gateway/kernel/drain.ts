/**
 * Graceful drain: what shutting down means for requests in flight. `begin()` (on SIGTERM) makes new work be
 * refused (SHUTTING_DOWN) and readiness fail; requests already running are tracked until they are answered;
 * `settle(ms)` waits for them; `cancel()` aborts what follows the drain with a SHUTTING_DOWN GatewayError,
 * which the pipeline turns into that code in the answer the agent receives (a response, never a closed
 * stream).
 */
import { createLiveList } from '../../connectors/call-registries.js';
import { createActiveCalls } from './active-calls.js';
import { GatewayError } from './errors.js';
import type { Logger } from './log.js';

export interface Drain {
  /** True from `begin()` on: refuse new sessions and calls. */
  readonly draining: boolean;
  /**
   * Abort `controller` when `cancel()` runs (at once when it already has), with a GatewayError SHUTTING_DOWN
   * as its reason, until the returned function is called. A list of followers, not an AbortSignal each call
   * listens on: EventTarget checks a new listener against every one already there and searches them for
   * the one it removes, so each call would pay for all the others in flight.
   */
  follow(controller: AbortController): () => void;
  /** Requests being served now. */
  inFlight(): number;
  /** Count one request until `done` is called (idempotent). */
  track(): () => void;
  begin(): void;
  /** Resolves true when nothing is in flight, false when `ms` passed first. */
  settle(ms: number): Promise<boolean>;
  /** Abort every follower, now and from now on (see `follow`). */
  cancel(): void;
}

export function createDrain(): Drain {
  let cancelled: GatewayError | undefined;
  let draining = false;
  const requests = createActiveCalls();
  const idle = new Set<() => void>();
  // A list, not a Set: every call follows the drain while it runs (see connectors/call-registries.ts).
  const followers = createLiveList<AbortController>();
  const wakeIfIdle = (): void => {
    if (requests.count() !== 0) return;
    for (const wake of [...idle]) wake();
  };
  return {
    get draining() {
      return draining;
    },
    follow(follower) {
      if (cancelled !== undefined) {
        follower.abort(cancelled);
        return () => undefined;
      }
      return followers.add(follower);
    },
    inFlight: () => requests.count(),
    track() {
      const leave = requests.enter();
      return () => {
        leave();
        wakeIfIdle();
      };
    },
    begin() {
      draining = true;
    },
    settle(ms) {
      if (requests.count() === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const finish = (settled: boolean): void => {
          clearTimeout(timer);
          idle.delete(onIdle);
          resolve(settled);
        };
        const onIdle = (): void => finish(true);
        const timer = setTimeout(() => finish(false), ms);
        idle.add(onIdle);
      });
    },
    cancel() {
      cancelled ??= new GatewayError('SHUTTING_DOWN', 'the gateway is shutting down; the call was cancelled');
      for (const follower of followers.takeAll()) follower.abort(cancelled);
    },
  };
}

/** After the drain time, cancelled calls get this long to send their SHUTTING_DOWN answers and audit them. */
const CANCEL_GRACE_MS = 5_000;

/**
 * Graceful drain (docs/operations.md#shutdown): readiness fails and new sessions and calls are refused at
 * once; calls in flight get `drainMs` to finish; the rest are cancelled, each answered to its agent with
 * SHUTTING_DOWN and audited, before anything is closed.
 */
export async function drainCalls(drain: Drain, drainMs: number, logger: Pick<Logger, 'info'>): Promise<void> {
  if (drain.draining) return;
  drain.begin();
  const started = performance.now();
  const inFlight = drain.inFlight();
  const finished = await drain.settle(drainMs);
  const cancelled = finished ? 0 : drain.inFlight();
  if (!finished) {
    drain.cancel();
    await drain.settle(CANCEL_GRACE_MS);
  }
  logger.info(
    { inFlight, cancelled, drainMs: Math.round(performance.now() - started) },
    finished ? 'drained: every call in flight finished' : 'drained: calls still running were cancelled',
  );
}
