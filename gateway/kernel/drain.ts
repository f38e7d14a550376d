/**
 * Graceful drain: what shutting down means for requests in flight. `begin()` (on SIGTERM) makes new work be
 * refused (SHUTTING_DOWN) and readiness fail; requests already running are tracked until they are answered;
 * `settle(ms)` waits for them; `cancel()` aborts `signal` with a SHUTTING_DOWN GatewayError, which the
 * pipeline turns into that code in the answer the agent receives (a response, never a closed stream).
 */
import { GatewayError } from './errors.js';
import type { Logger } from './log.js';

export interface Drain {
  /** True from `begin()` on: refuse new sessions and calls. */
  readonly draining: boolean;
  /** Aborted by `cancel()`, with a GatewayError SHUTTING_DOWN as its reason. */
  readonly signal: AbortSignal;
  /**
   * Abort `controller` as `signal` is aborted, with the same reason (at once when it already is), until the
   * returned function is called. For what follows the drain for a short while, one call at a time: a
   * listener on `signal` would cost every call a walk over the listeners of all the others, since
   * EventTarget checks each new listener against them and finds each one it removes among them.
   */
  follow(controller: AbortController): () => void;
  /** Requests being served now. */
  inFlight(): number;
  /** Count one request until `done` is called (idempotent). */
  track(): () => void;
  begin(): void;
  /** Resolves true when nothing is in flight, false when `ms` passed first. */
  settle(ms: number): Promise<boolean>;
  cancel(): void;
}

export function createDrain(): Drain {
  const controller = new AbortController();
  let draining = false;
  let count = 0;
  const idle = new Set<() => void>();
  const followers = new Set<AbortController>();
  const wakeIfIdle = (): void => {
    if (count !== 0) return;
    for (const wake of [...idle]) wake();
  };
  return {
    get draining() {
      return draining;
    },
    signal: controller.signal,
    follow(follower) {
      if (controller.signal.aborted) {
        follower.abort(controller.signal.reason);
        return () => undefined;
      }
      followers.add(follower);
      return () => void followers.delete(follower);
    },
    inFlight: () => count,
    track() {
      count += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        count -= 1;
        wakeIfIdle();
      };
    },
    begin() {
      draining = true;
    },
    settle(ms) {
      if (count === 0) return Promise.resolve(true);
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
      controller.abort(new GatewayError('SHUTTING_DOWN', 'the gateway is shutting down; the call was cancelled'));
      const cancelled = [...followers];
      followers.clear();
      for (const follower of cancelled) follower.abort(controller.signal.reason);
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
