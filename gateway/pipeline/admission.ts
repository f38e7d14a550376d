/**
 * Overload protection per connector: at most `maxConcurrent` calls run against one connector, at most
 * `maxQueued` more wait for a slot, and anything beyond that is refused at once (OVERLOADED) instead of
 * queuing without bound. One connector's flood therefore cannot take the slots, memory or time of calls
 * to another connector.
 */
export interface AdmissionOptions {
  maxConcurrent: number;
  maxQueued: number;
}

export interface Admission {
  /** A release function once a slot is held, or undefined when the connector is overloaded. */
  acquire(key: string, signal: AbortSignal): Promise<(() => void) | undefined>;
}

interface Lane {
  running: number;
  waiting: (() => void)[];
}

export function createAdmission(options: AdmissionOptions): Admission {
  const lanes = new Map<string, Lane>();

  function releaser(key: string, lane: Lane): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = lane.waiting.shift();
      if (next !== undefined)
        next(); // the slot passes straight to the next waiter
      else if (--lane.running === 0) lanes.delete(key);
    };
  }

  return {
    async acquire(key, signal) {
      let lane = lanes.get(key);
      if (lane === undefined) lanes.set(key, (lane = { running: 0, waiting: [] }));
      if (lane.running < options.maxConcurrent) {
        lane.running++;
        return releaser(key, lane);
      }
      if (lane.waiting.length >= options.maxQueued) return undefined;
      const current = lane;
      return new Promise((resolve) => {
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(releaser(key, current));
        };
        const onAbort = (): void => {
          const at = current.waiting.indexOf(wake);
          if (at >= 0) current.waiting.splice(at, 1);
          resolve(undefined);
        };
        current.waiting.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
