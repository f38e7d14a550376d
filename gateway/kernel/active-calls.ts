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
}

export function createActiveCalls(): ActiveCalls {
  let count = 0;
  return {
    enter() {
      count += 1;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        count -= 1;
      };
    },
    count: () => count,
  };
}
