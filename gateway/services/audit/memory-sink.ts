/**
 * In-memory audit sink: the same sealed, hash-chained records as the file sink, kept in an array. For
 * tests and embedded use; nothing survives the process.
 */
import { AuditError } from './errors.js';
import { EMPTY_HEAD, sealRecord, type AuditChainHead } from './chain.js';
import type { AuditRecord, AuditRecordInput, AuditSink } from './types.js';

export interface MemoryAuditSink extends AuditSink {
  /** Every record appended so far, in chain order. */
  readonly records: readonly AuditRecord[];
  head(): AuditChainHead;
}

export function createMemoryAuditSink(options: { now?: () => Date } = {}): MemoryAuditSink {
  const now = options.now ?? (() => new Date());
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
      records.push(record);
    },
    async flush(): Promise<void> {},
    async close(): Promise<void> {
      closed = true;
    },
  };
}
