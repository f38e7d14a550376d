/**
 * Waiting for a ticket's outcome, shared by the queue implementations. The waiter subscribes to change
 * notices first and reads the ticket second, so a decision landing in between is never missed. It settles
 * with the outcome as soon as the ticket is decided or expired, with `{ status: 'pending', timedOut: true }`
 * after `timeoutMs` (the ticket stays open), and rejects when the signal aborts (with the signal's reason),
 * when the ticket is unknown (NOT_FOUND), when a ticket it saw pending or was told exists is gone
 * (APPROVAL_LOST: the store lost its data before anyone decided), when the store fails on the first read or at the timeout (fail closed; a
 * failed re-read in between is retried by the next one) or when the queue closes.
 */
import { ApprovalError, type Outcome, type Ticket } from './types.js';

export interface WaitSource {
  get(id: string): Promise<Ticket | undefined>;
  /** Calls `listener` whenever the ticket may have changed; returns an unsubscribe function. */
  subscribe(id: string, listener: () => void): () => void;
  now(): number;
}

export interface WaitOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /**
   * The caller filed this ticket itself, so it existed: if the first read already finds nothing, the store
   * lost it (APPROVAL_LOST), not an unknown id (NOT_FOUND). A read that was in flight when the store lost
   * its data can come back after the loss, finding nothing.
   */
  known?: boolean;
  onProgress?: (elapsedMs: number) => void;
}

export interface WaitTuning {
  /** How often `onProgress` is called. */
  progressIntervalMs: number;
  /** Re-read the ticket this often as a safety net for lost change notices; 0 disables. */
  pollIntervalMs: number;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ActiveWait {
  promise: Promise<Outcome>;
  /** Rejects the wait (used when the queue closes). */
  cancel(error: Error): void;
}

export function startWait(source: WaitSource, id: string, options: WaitOptions, tuning: WaitTuning): ActiveWait {
  let cancel: (error: Error) => void = () => {};
  const promise = new Promise<Outcome>((resolve, reject) => {
    const { signal } = options;
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const started = performance.now();
    const timers: NodeJS.Timeout[] = [];
    let expiryTimer: NodeJS.Timeout | undefined;
    let settled = false;
    /** The ticket exists (filed by the caller, or read as pending): its disappearance is a loss. */
    let seen = options.known === true;

    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      clearTimeout(expiryTimer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = (): void => finish(() => reject(abortReason(signal)));
    cancel = (error) => finish(() => reject(error));

    const check = async (timedOut: boolean): Promise<void> => {
      try {
        const ticket = await source.get(id);
        if (settled) return;
        if (ticket === undefined) {
          const error = seen
            ? new ApprovalError('APPROVAL_LOST', `approval request ${id} was lost with the approval store`)
            : new ApprovalError('NOT_FOUND', `no approval request ${id}`);
          return finish(() => reject(error));
        }
        seen = true;
        if (ticket.status !== 'pending') {
          const outcome = { status: ticket.status, ticket } as Outcome;
          return finish(() => resolve(outcome));
        }
        if (timedOut) return finish(() => resolve({ status: 'pending', ticket, timedOut: true }));
        if (expiryTimer === undefined) {
          // Wake at the ticket's expiry (a little after, so the read sees it expired).
          const delay = Math.min(Math.max(0, Date.parse(ticket.expiresAt) - source.now()) + 5, MAX_TIMER_MS);
          expiryTimer = setTimeout(() => void check(false), delay);
        }
      } catch (error) {
        // Once the wait is under way, a store that cannot answer one re-read does not end it: nothing runs
        // while it waits, the next re-read tries again, and the final read at the timeout still fails closed.
        if (seen && !timedOut && (error as { code?: unknown } | null)?.code === 'STORE_UNAVAILABLE') return;
        finish(() => reject(error));
      }
    };

    const unsubscribe = source.subscribe(id, () => void check(false));
    signal.addEventListener('abort', onAbort, { once: true });
    timers.push(setTimeout(() => void check(true), Math.min(Math.max(0, options.timeoutMs), MAX_TIMER_MS)));
    if (options.onProgress !== undefined && tuning.progressIntervalMs > 0) {
      const onProgress = options.onProgress;
      timers.push(
        setInterval(() => {
          try {
            onProgress(Math.round(performance.now() - started));
          } catch {
            // A failing progress callback must not end the wait.
          }
        }, tuning.progressIntervalMs),
      );
    }
    if (tuning.pollIntervalMs > 0) timers.push(setInterval(() => void check(false), tuning.pollIntervalMs));
    void check(false);
  });
  return { promise, cancel: (error) => cancel(error) };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('the wait was aborted', 'AbortError');
}

/** Who is waiting on which ticket: waiters register per ticket id and are woken when that ticket changes. */
export interface TicketWatchers {
  subscribe(ticketId: string, listener: () => void): () => void;
  wake(ticketId: string): void;
  clear(): void;
}

export function createTicketWatchers(): TicketWatchers {
  const watchers = new Map<string, Set<() => void>>();
  return {
    subscribe(ticketId, listener) {
      const set = watchers.get(ticketId) ?? new Set();
      set.add(listener);
      watchers.set(ticketId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) watchers.delete(ticketId);
      };
    },
    wake(ticketId) {
      for (const watcher of watchers.get(ticketId) ?? []) watcher();
    },
    clear() {
      watchers.clear();
    },
  };
}
