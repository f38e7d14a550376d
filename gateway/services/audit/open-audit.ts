/**
 * The audit sink the configuration names (a hash-chained JSONL file, else memory), wrapped so that every
 * failed append is reported (see best-effort.ts).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { GatewayConfig } from '../../config/index.js';
import { reportingAuditSink, type AuditFailureReporter } from './best-effort.js';
import { createJsonlAuditSink } from './jsonl-sink.js';
import { createMemoryAuditSink } from './memory-sink.js';
import type { AuditSink } from './types.js';

export async function openAuditSink(
  config: GatewayConfig['audit'],
  reporter: AuditFailureReporter,
): Promise<AuditSink> {
  if (config.file === undefined) return reportingAuditSink(createMemoryAuditSink(), reporter);
  await mkdir(path.dirname(config.file), { recursive: true });
  const sink = await createJsonlAuditSink({
    file: config.file,
    durability: config.durability,
    checkpointFile: `${config.file}.checkpoint.json`,
  });
  return reportingAuditSink(sink, reporter);
}
