/** File audit sinks in tests: one that writes per record, and a way to let its next write be inline. */
import {
  createJsonlAuditSink,
  type JsonlAuditSink,
  type JsonlAuditSinkOptions,
} from '../../gateway/services/audit/index.js';

/**
 * A per-record sink. A write that happens to take 20 ms on a busy machine would pause inline writing (the
 * sink's `slowInlineMs`) and change what a test counts, so the pause is left to the test about it.
 */
export const openPerRecordSink = (
  file: string,
  options: Partial<JsonlAuditSinkOptions> = {},
): Promise<JsonlAuditSink> =>
  createJsonlAuditSink({ file, durability: 'per-record', slowInlineMs: 60_000, ...options });

/**
 * Lets the event loop wait for work until it has been idle for at least 1 ms, by its own count, so that a
 * sink's next write is inline: a timer alone does not promise that on a busy machine (the loop may be kept
 * busy while the timer runs out).
 */
export async function idleEventLoop(): Promise<void> {
  const start = performance.eventLoopUtilization().idle;
  for (let tries = 0; tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (performance.eventLoopUtilization().idle - start >= 1) return;
  }
  throw new Error('the event loop never waited for work');
}
