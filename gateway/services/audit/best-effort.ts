/**
 * Audit writes that may fail without stopping what they describe (a session closing, an operator's
 * revocation already done). No failure is silent: the sink built by `reportingAuditSink` reports every
 * failed append (the composition root logs it and counts it in portcullis_audit_write_failures_total),
 * and `appendBestEffort` tells its caller whether the record was written.
 *
 * Writes that must succeed (the write-ahead decision record) await `append` and fail closed instead.
 */
import type { AuditEvent, AuditRecordInput, AuditSink } from './types.js';

export interface AuditFailureReporter {
  /** Called once per failed append; must not throw. `error` may carry a code, never the record's content. */
  onFailure(event: AuditEvent, error: unknown): void;
}

/** The same sink, reporting each failed append before the failure reaches the caller. */
export function reportingAuditSink(sink: AuditSink, reporter: AuditFailureReporter): AuditSink {
  return {
    async append(record, options) {
      try {
        await sink.append(record, options);
      } catch (error) {
        try {
          reporter.onFailure(record.event, error);
        } catch {
          // A reporter that fails must not change the caller's outcome.
        }
        throw error;
      }
    },
    ...(sink.status !== undefined ? { status: () => sink.status!() } : {}),
    ...(sink.stats !== undefined ? { stats: () => sink.stats!() } : {}),
    flush: () => sink.flush(),
    close: () => sink.close(),
  };
}

/** Append and report whether it was written; never rejects. */
export function appendBestEffort(sink: AuditSink | undefined, record: AuditRecordInput): Promise<boolean> {
  if (sink === undefined) return Promise.resolve(false);
  return sink.append(record).then(
    () => true,
    () => false,
  );
}
