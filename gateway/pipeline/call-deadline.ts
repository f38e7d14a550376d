/**
 * The signal a backend call runs under: aborted when the caller's signal aborts (with its reason) or when
 * the call's deadline passes (with a `TimeoutError`), whichever comes first.
 *
 * Why not `AbortSignal.any([caller, AbortSignal.timeout(ms)])`: a timeout signal's timer cannot be
 * cleared, so every call would leave a timer and a signal behind for the whole deadline (a minute by
 * default) after it answered, and a composite signal is tracked through weak references the collector must
 * clean up. Here `dispose()` clears the timer and the listener as soon as the call is over.
 */
export interface CallDeadline {
  readonly signal: AbortSignal;
  /** Did the deadline (not the caller) end the call? */
  timedOut(): boolean;
  /** The call is over: stop the timer and stop following the caller. Idempotent. */
  dispose(): void;
}

export function callDeadline(caller: AbortSignal, timeoutMs: number): CallDeadline {
  const controller = new AbortController();
  let timedOut = false;
  if (caller.aborted) {
    controller.abort(caller.reason);
    return { signal: controller.signal, timedOut: () => false, dispose: () => undefined };
  }
  const follow = (): void => controller.abort(caller.reason);
  caller.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    caller.removeEventListener('abort', follow);
    controller.abort(new DOMException(`the call exceeded its deadline of ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      caller.removeEventListener('abort', follow);
    },
  };
}
