/**
 * The audit sink the configuration names (a hash-chained JSONL file, else memory), wrapped so that every
 * failed append is reported (see best-effort.ts).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { GatewayConfig } from '../../config/index.js';
import type { ActiveCalls, Logger } from '../../kernel/index.js';
import type { Metrics } from '../metrics/index.js';
import { reportingAuditSink, type AuditFailureReporter } from './best-effort.js';
import type { AuditChainHead } from './chain.js';
import { createJsonlAuditSink } from './jsonl-sink.js';
import { createRotatingAuditSink } from './rotating-sink.js';
import { createMemoryAuditSink } from './memory-sink.js';
import { withRecentAudit, type RecentAudit } from './recent.js';
import type { AuditSink } from './types.js';

export interface AuditOutputs {
  /** Where `audit.export: stdout` writes (the process's stdout; tests pass their own stream). */
  exportStream?: NodeJS.WritableStream;
  /**
   * Whether other work is in progress that a write on the event loop's own thread would hold up (the
   * gateway: more than one call being served); see jsonl-sink.ts.
   */
  othersInProgress?: () => boolean;
  /** Whether the gateway has been serving one call at a time lately; see jsonl-sink.ts. */
  servingAlone?: () => boolean;
}

/**
 * How long no two calls must have been in progress together for the gateway to count as serving one agent
 * at a time: several busy agents overlap their calls every few milliseconds.
 */
const SERVED_ALONE_MS = 100;

export async function openAuditSink(
  config: GatewayConfig['audit'],
  reporter: AuditFailureReporter,
  outputs: AuditOutputs = {},
): Promise<AuditSink> {
  // Without a file the records are sealed (the chain head, the console's recent records) but not held:
  // nothing reads them, and holding every one would grow the gateway's memory with every call.
  if (config.file === undefined) return reportingAuditSink(createMemoryAuditSink({ keep: 0 }), reporter);
  const file = config.file;
  await mkdir(path.dirname(file), { recursive: true });
  const exportStream = config.export === 'stdout' ? (outputs.exportStream ?? process.stdout) : undefined;
  // A reader that went away (EPIPE) must not crash the gateway: the file stays the record of truth.
  exportStream?.on('error', () => undefined);
  const openFile = (continueFrom?: AuditChainHead) =>
    createJsonlAuditSink({
      file,
      durability: config.durability,
      checkpointFile: `${file}.checkpoint.json`,
      ...(continueFrom !== undefined ? { continueFrom } : {}),
      ...(outputs.othersInProgress !== undefined ? { othersInProgress: outputs.othersInProgress } : {}),
      ...(outputs.servingAlone !== undefined ? { servingAlone: outputs.servingAlone } : {}),
      // Export is best effort by nature (a closed pipe must not stop calls); the file is the record.
      ...(exportStream !== undefined ? { onDurable: (lines: string) => void exportStream.write(lines) } : {}),
    });
  const sink =
    config.rotate === undefined
      ? await openFile()
      : await createRotatingAuditSink({ file, rotation: config.rotate, openSegment: openFile });
  return reportingAuditSink(sink, reporter);
}

/**
 * The gateway's audit sink: every failed append is counted and logged (by event and error code, never the
 * record), what the file wrote is counted for `/metrics` (records, synced writes by thread), and every part
 * appends through the recent-records view, so the console sees each durable record.
 */
export async function openGatewayAudit(
  config: GatewayConfig['audit'],
  deps: { metrics: Pick<Metrics, 'auditWriteFailed' | 'countAuditWrites'>; logger: Logger; activeCalls?: ActiveCalls },
): Promise<{ sink: AuditSink; recent: RecentAudit }> {
  const { activeCalls } = deps;
  const sink = await openAuditSink(
    config,
    {
      onFailure: (event, error) => {
        deps.metrics.auditWriteFailed(event);
        deps.logger.error({ event, code: (error as { code?: unknown } | null)?.code }, 'audit record not written');
      },
    },
    // A call's own records are written while it is counted: another call in progress is one to hold up.
    activeCalls !== undefined
      ? {
          othersInProgress: () => activeCalls.count() > 1,
          servingAlone: () => activeCalls.servedAloneFor(SERVED_ALONE_MS),
        }
      : {},
  );
  if (sink.stats !== undefined) deps.metrics.countAuditWrites(() => sink.stats!());
  return withRecentAudit(sink);
}
