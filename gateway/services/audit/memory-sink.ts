/**
 * In-memory audit sink: the same sealed, hash-chained records as the file sink, kept in an array. For
 * tests and embedded use; nothing survives the process. `keep` bounds how many of the latest records the
 * array holds (all by default): a sink that lives as long as a gateway must not grow with every call.
 */
import { AuditError } from './errors.js';
import { EMPTY_HEAD, sealRecord, type AuditChainHead } from './chain.js';
import type { AuditRecord, AuditRecordInput, AuditSink } from './types.js';

export interface MemoryAuditSink extends AuditSink {
  /** The records appended so far (the latest `keep` of them), in chain order. */
  readonly records: readonly AuditRecord[];
  head(): AuditChainHead;
}

export interface MemoryAuditSinkOptions {
  now?: () => Date;
  /** How many of the latest records to hold (default: every one). The chain goes on past those dropped. */
  keep?: number;
}

export function createMemoryAuditSink(options: MemoryAuditSinkOptions = {}): MemoryAuditSink {
  const now = options.now ?? (() => new Date());
  const keep = options.keep ?? Number.POSITIVE_INFINITY;
  if (!(keep === Number.POSITIVE_INFINITY || (Number.isSafeInteger(keep) && keep >= 0)))
    throw new RangeError('keep must be a whole number of records, 0 or more');
  const records: AuditRecord[] = [];
  let head: AuditChainHead = EMPTY_HEAD;
  let closed = false;
  return {
    records,
    head: () => ({ ...head }),
    async append(input: AuditRecordInput): Promise<void> {
      if (closed) throw new AuditError('AUDIT_SINK_CLOSED', 'audit sink is closed');
      const record = sealRecord(input, head, now());
      head = { seq: record.seq, hash: record.hash };
      if (keep === 0) return;
      if (records.length >= keep) records.shift();
      records.push(record);
    },
    async flush(): Promise<void> {},
    async close(): Promise<void> {
      closed = true;
    },
  };
}
