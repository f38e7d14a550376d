/**
 * How a Portcullis target wrote its audit log during a measured phase, from its `/metrics` counters:
 * records made durable, the synced writes that made them (group commit puts several records in one), how
 * many of those writes were made inline on the event loop's thread rather than in libuv's pool, how long
 * the writes took and how long the records waited until durable. The bench reads the counters before and
 * after each phase; what the difference says about the sink's choices under that load (docs/audit.md), and
 * how long a call waited for its records, sits beside the throughput it gave.
 */

/** Cumulative counters as `/metrics` gives them. */
export interface AuditWriteCounters {
  records: number;
  syncs: number;
  inlineSyncs: number;
  /** Seconds the synced writes took, and the records' summed waits until durable (absent: a build without them). */
  syncSeconds?: number;
  waitSeconds?: number;
}

/** The counters' increase over a phase, with the two figures worth reading. */
export interface AuditWrites extends AuditWriteCounters {
  /** Records per synced write (group commit); NaN without writes. */
  recordsPerSync: number;
  /** Share of the synced writes made inline, 0..1; NaN without writes. */
  inlineShare: number;
  /** Mean time of a synced write, µs; NaN without writes or without the counter. */
  syncMicros: number;
  /** Mean time a record waited from its append until durable, µs; NaN without records or the counter. */
  waitMicros: number;
}

const RECORDS = /^portcullis_audit_records_durable_total(?:\{[^}]*\})? (\S+)$/m;
const SYNCS = /^portcullis_audit_synced_writes_total\{thread="(event_loop|pool)"\} (\S+)$/gm;
const SYNC_SECONDS = /^portcullis_audit_synced_write_seconds_total\{thread="(?:event_loop|pool)"\} (\S+)$/gm;
const WAIT_SECONDS = /^portcullis_audit_durable_wait_seconds_total(?:\{[^}]*\})? (\S+)$/m;

/**
 * The audit counters in a Prometheus text exposition; undefined when it has none (a target without an
 * audit file, or not Portcullis).
 */
export function parseAuditWriteCounters(text: string): AuditWriteCounters | undefined {
  const records = RECORDS.exec(text);
  if (records === null) return undefined;
  let pool = 0;
  let inline = 0;
  for (const match of text.matchAll(SYNCS)) {
    if (match[1] === 'event_loop') inline = Number(match[2]);
    else pool = Number(match[2]);
  }
  const counters: AuditWriteCounters = { records: Number(records[1]), syncs: pool + inline, inlineSyncs: inline };
  const syncSeconds = [...text.matchAll(SYNC_SECONDS)].map((match) => Number(match[1]));
  if (syncSeconds.length > 0) counters.syncSeconds = syncSeconds.reduce((sum, value) => sum + value, 0);
  const waitSeconds = WAIT_SECONDS.exec(text);
  if (waitSeconds !== null) counters.waitSeconds = Number(waitSeconds[1]);
  return Object.values(counters).every(Number.isFinite) ? counters : undefined;
}

/** Microseconds of `seconds` (an increase) per `count`; NaN when either is missing or nothing was counted. */
function microsEach(after: number | undefined, before: number | undefined, count: number): number {
  if (after === undefined || before === undefined || count <= 0) return Number.NaN;
  return ((after - before) * 1e6) / count;
}

export function auditWritesBetween(before: AuditWriteCounters, after: AuditWriteCounters): AuditWrites {
  const records = after.records - before.records;
  const syncs = after.syncs - before.syncs;
  const inlineSyncs = after.inlineSyncs - before.inlineSyncs;
  return {
    records,
    syncs,
    inlineSyncs,
    recordsPerSync: syncs > 0 ? records / syncs : Number.NaN,
    inlineShare: syncs > 0 ? inlineSyncs / syncs : Number.NaN,
    syncMicros: microsEach(after.syncSeconds, before.syncSeconds, syncs),
    waitMicros: microsEach(after.waitSeconds, before.waitSeconds, records),
  };
}
