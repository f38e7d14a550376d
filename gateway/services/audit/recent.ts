/**
 * Recent audit records for the operators' console: a decorator over the audit sink that keeps the last
 * records this instance made durable in a bounded ring and tells listeners about each one. Only records
 * whose `append` resolved are kept, so the console never shows a decision the log does not hold. The
 * ring is a view, not a store: the audit file stays the source of truth.
 */
import type { AuditRecordInput, AuditSink } from './types.js';

/** What the console shows of a record: its identifying fields, never `detail` or `argsHash`. */
export interface RecentAuditRecord {
  /** Position in this instance's ring (increasing), to merge the list and the live stream. */
  id: number;
  ts: string;
  event: AuditRecordInput['event'];
  decision?: AuditRecordInput['decision'];
  code?: string;
  agentId?: string;
  taskId?: string;
  tool?: string;
  operation?: string;
  target?: string;
  rules?: readonly string[];
  policyVersion?: string;
  reason?: string;
  latencyMs?: number;
  traceId?: string;
  actor?: string;
  approvalId?: string;
}

export interface RecentAuditFilter {
  agentId?: string;
  tool?: string;
  decision?: string;
}

export interface RecentAudit {
  /** Newest first, at most `limit`. */
  list(filter?: RecentAuditFilter, limit?: number): RecentAuditRecord[];
  /** Called with each record once it is durable. Returns an unsubscribe function. */
  subscribe(listener: (record: RecentAuditRecord) => void): () => void;
  /** When a record was last made durable, and when an append last failed (for the health page). */
  status(): { lastDurableAt?: string; lastFailureAt?: string };
}

const SHOWN_FIELDS = [
  'decision',
  'code',
  'agentId',
  'taskId',
  'tool',
  'operation',
  'target',
  'rules',
  'policyVersion',
  'reason',
  'latencyMs',
  'traceId',
  'actor',
  'approvalId',
] as const;

export function matchesRecentFilter(record: RecentAuditRecord, filter: RecentAuditFilter): boolean {
  return (
    (filter.agentId === undefined || record.agentId === filter.agentId) &&
    (filter.tool === undefined || record.tool === filter.tool) &&
    (filter.decision === undefined || record.decision === filter.decision)
  );
}

/** Wrap `sink`; the returned sink is the one to hand to the rest of the gateway. */
export function withRecentAudit(
  sink: AuditSink,
  options: { capacity?: number; now?: () => Date } = {},
): { sink: AuditSink; recent: RecentAudit } {
  const capacity = options.capacity ?? 1000;
  if (!Number.isSafeInteger(capacity) || capacity < 1)
    throw new RangeError('the recent-records ring holds at least one');
  const now = options.now ?? (() => new Date());
  // A fixed ring: the newest record overwrites the oldest, with no array shifting on every record.
  const ring = new Array<RecentAuditRecord | undefined>(capacity);
  /** Records remembered so far; the newest sits at `(remembered - 1) % capacity`. */
  let remembered = 0;
  const listeners = new Set<(record: RecentAuditRecord) => void>();
  let lastDurableAt: string | undefined;
  let lastFailureAt: string | undefined;

  const remember = (input: AuditRecordInput, ts: string): void => {
    const record: RecentAuditRecord = { id: remembered + 1, ts, event: input.event };
    for (const field of SHOWN_FIELDS) {
      if (input[field] !== undefined) (record as unknown as Record<string, unknown>)[field] = input[field];
    }
    ring[remembered % capacity] = record;
    remembered++;
    for (const listener of listeners) {
      try {
        listener(record);
      } catch {
        // A broken listener (a closed stream) must not affect the audit path.
      }
    }
  };

  return {
    sink: {
      async append(input, appendOptions) {
        try {
          await sink.append(input, appendOptions);
        } catch (error) {
          lastFailureAt = now().toISOString();
          throw error;
        }
        lastDurableAt = now().toISOString();
        remember(input, lastDurableAt);
      },
      ...(sink.status !== undefined ? { status: () => sink.status!() } : {}),
      ...(sink.stats !== undefined ? { stats: () => sink.stats!() } : {}),
      flush: () => sink.flush(),
      close: () => sink.close(),
    },
    recent: {
      list(filter = {}, limit = 200) {
        const out: RecentAuditRecord[] = [];
        const kept = Math.min(remembered, capacity);
        for (let back = 1; back <= kept && out.length < limit; back++) {
          const record = ring[(remembered - back) % capacity]!;
          if (matchesRecentFilter(record, filter)) out.push(record);
        }
        return out;
      },
      status: () => ({
        ...(lastDurableAt !== undefined ? { lastDurableAt } : {}),
        ...(lastFailureAt !== undefined ? { lastFailureAt } : {}),
      }),
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  };
}
