/**
 * Reading the records a rebuild needs from audit logs: every file of each log (rotated files first, then
 * the active one), one line at a time, keeping only the events the deny state is made of. A line that is
 * not a record (a torn last line, a foreign line) is counted, never fatal; a log that cannot be read is an
 * error, because a rebuild that silently skipped one instance's log would forget its kill switches.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { listAuditFiles, type AuditRecord } from '../audit/index.js';
import { DENY_STATE_EVENTS } from './deny-state.js';

export interface ReadRecordsResult {
  records: AuditRecord[];
  /** Every file read, in order. */
  files: string[];
  /** Lines read in all. */
  lines: number;
  /** Lines that were not records. */
  malformed: number;
}

export class AuditSourceError extends Error {
  override readonly name = 'AuditSourceError';
  readonly code = 'AUDIT_IO_ERROR';
}

/**
 * `logs` are the configured names of audit logs (`audit.file` of each instance); each expands to its
 * rotated set. `optional` logs may be absent (a fresh deployment has written nothing yet).
 */
export async function readDenyStateRecords(
  logs: readonly { file: string; optional?: boolean }[],
): Promise<ReadRecordsResult> {
  const result: ReadRecordsResult = { records: [], files: [], lines: 0, malformed: 0 };
  for (const log of logs) {
    let files: string[];
    try {
      files = await listAuditFiles(log.file);
    } catch (error) {
      throw new AuditSourceError(`cannot list audit log ${log.file}`, { cause: error });
    }
    for (const file of files) {
      const present = await stat(file).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw new AuditSourceError(`cannot read audit log ${file}`, { cause: error });
        },
      );
      if (!present) {
        if (log.optional === true) continue;
        throw new AuditSourceError(`audit log ${file} does not exist`);
      }
      result.files.push(file);
      await readFile(file, result);
    }
  }
  return result;
}

const EVENT_MARKERS = [...DENY_STATE_EVENTS].map((event) => `"event":"${event}"`);

async function readFile(file: string, result: ReadRecordsResult): Promise<void> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      result.lines += 1;
      // Cheap filter first: most records are calls, which the deny state does not need. A line that names
      // none of its events cannot be one of them; one that does is parsed and checked.
      if (!EVENT_MARKERS.some((marker) => line.includes(marker))) {
        if (!line.includes('"event":"')) result.malformed += 1;
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        result.malformed += 1;
        continue;
      }
      if (!isRecord(value)) {
        result.malformed += 1;
        continue;
      }
      if (DENY_STATE_EVENTS.has(value.event)) result.records.push(value);
    }
  } catch (error) {
    throw new AuditSourceError(`cannot read audit log ${file}`, { cause: error });
  }
}

function isRecord(value: unknown): value is AuditRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record['event'] === 'string' && typeof record['ts'] === 'string';
}
