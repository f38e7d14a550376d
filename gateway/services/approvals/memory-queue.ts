/**
 * Approval queue for a single process: tickets live in a Map and die with the process. Same rules as the
 * Redis queue (ticket-state.ts); JavaScript's single thread makes each request and decision atomic.
 */
import {
  applyDecision,
  currentTicket,
  expireTicket,
  isFinal,
  openTicket,
  parseRequest,
  ticketId,
  type DecisionRules,
} from './ticket-state.js';
import {
  ApprovalError,
  type ApprovalQueue,
  type DecideInput,
  type ElevationRequest,
  type ListFilter,
  type Outcome,
  type Ticket,
} from './types.js';
import { createTicketWatchers, startWait, type ActiveWait, type WaitOptions } from './wait.js';

export interface ApprovalQueueOptions extends DecisionRules {
  /** Clock in epoch ms (tests). */
  now?: () => number;
  /** How long decided and expired tickets stay listable, in seconds (default 1 day). */
  retentionSeconds?: number;
  /** How often a waiting call's `onProgress` runs (default 5000 ms). */
  progressIntervalMs?: number;
  /** Called once for each newly created ticket (not for an idempotent repeat), e.g. a webhook notifier. */
  onCreated?: (ticket: Ticket) => void;
}

export const DEFAULT_RETENTION_SECONDS = 86_400;
export const DEFAULT_PROGRESS_INTERVAL_MS = 5000;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createMemoryApprovalQueue(options: ApprovalQueueOptions = {}): ApprovalQueue {
  const now = options.now ?? Date.now;
  const retentionMs = (options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000;
  const tickets = new Map<string, Ticket>();
  /** callHash -> { current ticket id, attempts so far }. */
  const calls = new Map<string, { current: string; attempt: number }>();
  const expiryTimers = new Map<string, NodeJS.Timeout>();
  const listeners = new Set<(ticket: Ticket) => void>();
  const watchers = createTicketWatchers();
  const waits = new Set<ActiveWait>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the approval queue is closed');
  };

  function changed(ticket: Ticket): void {
    watchers.wake(ticket.id);
    for (const listener of listeners) {
      try {
        listener(ticket);
      } catch {
        // One listener's failure must not hide the change from the others.
      }
    }
  }

  function scheduleExpiry(ticket: Ticket): void {
    const delay = Math.min(Math.max(0, Date.parse(ticket.expiresAt) - now()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      expiryTimers.delete(ticket.id);
      const stored = tickets.get(ticket.id);
      if (stored === undefined) return;
      const expired = expireTicket(stored, now());
      if (expired !== undefined) {
        tickets.set(expired.id, expired);
        changed(expired);
      } else if (stored.status === 'pending') {
        scheduleExpiry(stored);
      }
    }, delay);
    expiryTimers.set(ticket.id, timer);
  }

  function purge(at: number): void {
    for (const [id, ticket] of tickets) {
      const current = currentTicket(ticket, at);
      const endedAt =
        current.status === 'expired'
          ? Date.parse(current.expiresAt)
          : Date.parse(current.decisions.at(-1)?.at ?? current.createdAt);
      if (isFinal(current.status) && endedAt + retentionMs <= at) {
        tickets.delete(id);
        const call = calls.get(ticket.callHash);
        if (call?.current === id) calls.delete(ticket.callHash);
      }
    }
  }

  const get = (id: string): Ticket | undefined => {
    const ticket = tickets.get(id);
    return ticket === undefined ? undefined : currentTicket(ticket, now());
  };

  return {
    async request(r: ElevationRequest): Promise<Ticket> {
      ensureOpen();
      const request = parseRequest(r);
      const at = now();
      purge(at);
      const call = calls.get(request.callHash);
      if (call !== undefined) {
        const existing = get(call.current);
        if (existing?.status === 'pending') return existing;
      }
      let attempt = call?.attempt ?? 0;
      let id: string;
      do id = ticketId(request.callHash, ++attempt);
      while (tickets.has(id));
      const ticket = openTicket(id, request, at);
      tickets.set(id, ticket);
      calls.set(request.callHash, { current: id, attempt });
      scheduleExpiry(ticket);
      changed(ticket);
      try {
        options.onCreated?.(ticket);
      } catch {
        // Notifications never block a request.
      }
      return ticket;
    },

    async wait(id: string, o: WaitOptions): Promise<Outcome> {
      ensureOpen();
      const active = startWait(
        {
          get: async (ticketId) => {
            ensureOpen();
            return get(ticketId);
          },
          subscribe: watchers.subscribe,
          now,
        },
        id,
        o,
        { progressIntervalMs: options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS, pollIntervalMs: 0 },
      );
      waits.add(active);
      try {
        return await active.promise;
      } finally {
        waits.delete(active);
      }
    },

    async decide(id: string, d: DecideInput): Promise<Ticket> {
      ensureOpen();
      const stored = tickets.get(id);
      if (stored === undefined) throw new ApprovalError('NOT_FOUND', `no approval request ${id}`);
      const next = applyDecision(stored, d, options, now());
      if (next === stored) return currentTicket(stored, now());
      tickets.set(id, next);
      if (isFinal(next.status)) {
        clearTimeout(expiryTimers.get(id));
        expiryTimers.delete(id);
      }
      changed(next);
      return next;
    },

    async get(id: string): Promise<Ticket | undefined> {
      ensureOpen();
      return get(id);
    },

    async list(filter: ListFilter = {}): Promise<Ticket[]> {
      ensureOpen();
      const at = now();
      const limit = Math.min(filter.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
      const out: Ticket[] = [];
      const newestFirst = [...tickets.values()].sort(
        (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1),
      );
      for (const stored of newestFirst) {
        const ticket = currentTicket(stored, at);
        if (filter.status !== undefined && ticket.status !== filter.status) continue;
        if (filter.agentId !== undefined && ticket.agentId !== filter.agentId) continue;
        if (filter.taskId !== undefined && ticket.taskId !== filter.taskId) continue;
        out.push(ticket);
        if (out.length >= limit) break;
      }
      return out;
    },

    onChange(listener: (ticket: Ticket) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const timer of expiryTimers.values()) clearTimeout(timer);
      expiryTimers.clear();
      for (const active of [...waits])
        active.cancel(new ApprovalError('STORE_UNAVAILABLE', 'the approval queue closed'));
      listeners.clear();
      watchers.clear();
    },
  };
}
