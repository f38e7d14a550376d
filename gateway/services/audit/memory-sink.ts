/**
 * In-memory audit sink: the same sealed, hash-chained records as the file sink, kept in an array. For
 * tests and embedded use; nothing survives the process. `keep` bounds how many of the latest records the
 * array holds (all by default): a sink that lives as long as a gateway must not grow with every call.
 *
 * A record is sealed as the file sink seals it, straight to its line (`sealLine`), and what the array holds
 * is that line read back: the record a verifier would read from the file. A sink that keeps no records (a
 * gateway without an audit file) only advances the chain and builds no record object.
 */
import { AuditError } from './errors.js';
import { EMPTY_HEAD, sealLine, type AuditChainHead } from './chain.js';
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
      const sealed = sealLine(input, head, now());
      head = { seq: sealed.seq, hash: sealed.hash };
      if (keep === 0) return;
      if (records.length >= keep) records.shift();
      records.push(JSON.parse(sealed.line) as AuditRecord);
    },
    async flush(): Promise<void> {},
    async close(): Promise<void> {
      closed = true;
    },
  };
}
