/**
 * What one synced audit write costs on this machine's disk: the floor under the durable audit log's
 * latency. Times a 600-byte write (an audit record's size) through a descriptor opened with `O_DSYNC`, as
 * the audit log writes, appended to a growing file, and the same write over blocks written beforehand (what
 * pre-allocating the log would give: the file's length no longer changes with each write), and appends a
 * millisecond apart (as a gateway serving one agent makes them: the disk is idle between writes). In the
 * folder given, or the OS temporary folder; the file is removed afterwards. Percentiles in microseconds.
 */
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { percentile } from './lib/stats.js';

export interface SyncWriteBenchResult {
  writes: number;
  bytes: number;
  /** Appending: every write also makes the new length durable. */
  append: { p50Micros: number; p90Micros: number; p99Micros: number };
  /** Overwriting blocks already written: only the data. */
  overwrite: { p50Micros: number; p90Micros: number; p99Micros: number };
  /** Appending with a pause of `pauseMs` before each write (a quarter as many writes). */
  pacedAppend: { pauseMs: number; p50Micros: number; p90Micros: number; p99Micros: number };
}

/** Between paced writes: the thread sleeps, as an idle event loop does. */
const PAUSE_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const RECORD_BYTES = 600;

function percentiles(samples: number[]): { p50Micros: number; p90Micros: number; p99Micros: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => Math.round(percentile(sorted, p));
  return { p50Micros: at(50), p90Micros: at(90), p99Micros: at(99) };
}

function timeWrites(file: string, flags: number, writes: number, positioned: boolean, pauseMs = 0): number[] {
  const record = Buffer.alloc(RECORD_BYTES, 'x');
  const fd = openSync(file, flags, 0o600);
  const samples: number[] = [];
  try {
    for (let i = 0; i < writes; i++) {
      if (pauseMs > 0) Atomics.wait(sleeper, 0, 0, pauseMs);
      const started = process.hrtime.bigint();
      writeSync(fd, record, 0, record.length, positioned ? i * RECORD_BYTES : null);
      samples.push(Number(process.hrtime.bigint() - started) / 1000);
    }
  } finally {
    closeSync(fd);
  }
  return samples;
}

export async function runSyncWriteBench(
  options: { dir?: string; writes?: number } = {},
): Promise<SyncWriteBenchResult> {
  const writes = options.writes ?? 2000;
  const dir = mkdtempSync(path.join(options.dir ?? tmpdir(), 'portcullis-sync-'));
  try {
    const appended = path.join(dir, 'append.jsonl');
    const overwritten = path.join(dir, 'overwrite.jsonl');
    writeFileSync(overwritten, Buffer.alloc(RECORD_BYTES * writes));
    const { O_WRONLY, O_CREAT, O_APPEND, O_DSYNC } = constants;
    const append = timeWrites(appended, O_WRONLY | O_CREAT | O_APPEND | O_DSYNC, writes, false);
    const overwrite = timeWrites(overwritten, O_WRONLY | O_DSYNC, writes, true);
    const paced = timeWrites(
      path.join(dir, 'paced.jsonl'),
      O_WRONLY | O_CREAT | O_APPEND | O_DSYNC,
      Math.max(1, Math.floor(writes / 4)),
      false,
      PAUSE_MS,
    );
    return {
      writes,
      bytes: RECORD_BYTES,
      append: percentiles(append),
      overwrite: percentiles(overwrite),
      pacedAppend: { pauseMs: PAUSE_MS, ...percentiles(paced) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  console.log(JSON.stringify(await runSyncWriteBench(dir !== undefined ? { dir } : {}), null, 2));
}
