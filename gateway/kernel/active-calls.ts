/**
 * How many calls the gateway is serving now, counted where a call starts and ends. The pipeline counts its
 * runs for what must not hold other calls up: the audit file writes on the event loop's own thread only
 * while a single call is in progress (see services/audit/jsonl-sink.ts). The drain counts the requests it
 * waits for at shutdown the same way (drain.ts).
 */
export interface ActiveCalls {
  /** Count one call until the returned function is called (once; later calls do nothing). */
  enter(): () => void;
  /** Calls being served now. */
  count(): number;
  /**
   * Whether no two calls have been in progress together for at least `ms` milliseconds (and none are
   * now): the gateway has been serving one call at a time, as it does for a single agent.
   */
  servedAloneFor(ms: number): boolean;
}

/** `now`: the clock `servedAloneFor` reads (milliseconds; tests pass their own). */
export function createActiveCalls(now: () => number = () => performance.now()): ActiveCalls {
  let count = 0;
  /**
   * When an overlap last ended (`now()` as a call left others in progress). One in progress is told by the
   * count itself, so only its end is timed.
   */
  let lastOverlap = Number.NEGATIVE_INFINITY;
  return {
    enter() {
      count += 1;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        if (count > 1) lastOverlap = now();
        count -= 1;
      };
    },
    count: () => count,
    servedAloneFor: (ms) => count <= 1 && now() - lastOverlap >= ms,
  };
}
