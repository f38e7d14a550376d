/**
 * The pending-approvals gauge is read from the queue itself, so expiries and other instances' decisions
 * count. A queue that cannot answer leaves the gauge at its last value (telemetry may fail open).
 */
import type { ApprovalQueue } from './types.js';

export function startPendingGauge(
  queue: Pick<ApprovalQueue, 'list'>,
  setPending: (count: number) => void,
  intervalSeconds: number,
): () => Promise<void> {
  const timer = setInterval(() => {
    void queue
      .list({ status: 'pending', limit: 1000 })
      .then((tickets) => setPending(tickets.length))
      .catch(() => undefined);
  }, intervalSeconds * 1000);
  timer.unref();
  return async () => clearInterval(timer);
}
