/**
 * Audit errors. The sink fails closed: while writes fail, or when the existing log cannot be continued
 * safely, it refuses records rather than writing a chain with a hole in it.
 */
import type { ErrorCode } from '../../kernel/index.js';

export type AuditErrorCode = Extract<
  ErrorCode,
  /** The existing log (or its checkpoint) does not end in a verifiable record; refusing to fork the chain. */
  | 'AUDIT_CHAIN_CORRUPT'
  /** A write or fsync failed; the records in it were refused and the sink retries in the background. */
  | 'AUDIT_WRITE_FAILED'
  /** Refused at once: an earlier write failed and no retry has succeeded yet. */
  | 'AUDIT_UNAVAILABLE'
  /** `append` after `close`. */
  | 'AUDIT_SINK_CLOSED'
  /** The log or checkpoint could not be read. */
  | 'AUDIT_IO_ERROR'
>;

export class AuditError extends Error {
  override readonly name = 'AuditError';
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
