/**
 * What one synced audit write costs on this machine's disk: the floor under the durable audit log's
 * latency. Times a 600-byte write (an audit record's size) through a descriptor opened with `O_DSYNC`, as
 * the audit log writes, appended to a growing file, and the same write over blocks written beforehand (what
 * pre-allocating the log would give: the file's length no longer changes with each write), and appends a
 * millisecond apart (as a gateway serving one agent makes them: the disk is idle between writes), all made
 * on the calling thread as the audit log writes while one call is in progress; and appends through
 * `fs/promises`, which libuv's thread pool makes, as the audit log writes while calls overlap. In the
 * folder given, or the OS temporary folder; the file is removed afterwards. Percentiles in microseconds,
 * and the process's CPU time (user + system, every thread) per write: what a write costs besides waiting.
 */
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { BenchUsageError } from './lib/options.js';
import { percentile } from './lib/stats.js';

/**
 * Latency percentiles, and CPU time per write: user + system time of every thread of the process from just
 * before a write to just after it (so a pause between writes is left out), one reading of it included.
 */
export interface WriteFigures {
  p50Micros: number;
  p90Micros: number;
  p99Micros: number;
  cpuMicros: number;
}

export interface SyncWriteBenchResult {
  writes: number;
  bytes: number;
  /** Appending: every write also makes the new length durable. */
  append: WriteFigures;
  /** Overwriting blocks already written: only the data. */
  overwrite: WriteFigures;
  /** Appending with a pause of `pauseMs` before each write (a quarter as many writes). */
  pacedAppend: WriteFigures & { pauseMs: number };
  /**
   * Appending through `fs/promises`, one write awaited at a time: each write is handed to a thread of
   * libuv's pool, which wakes the event loop when it is done. Its CPU time over `append`'s is that trip.
   * `handOffP50Micros`: the median time the calling thread spent in the `write` call itself, before the
   * write was in the pool's hands (queueing it and waking a pool thread): what every operation handed to
   * the pool costs the event loop.
   */
  pooledAppend: WriteFigures & { handOffP50Micros: number };
}

/** Between paced writes: the thread sleeps, as an idle event loop does. */
const PAUSE_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const RECORD_BYTES = 600;

const { O_WRONLY, O_CREAT, O_APPEND, O_DSYNC } = constants;
const APPEND_FLAGS = O_WRONLY | O_CREAT | O_APPEND | O_DSYNC;

/** Times writes one at a time: wall time from `start` to `stop`, and the process's CPU time over it. */
class WriteMeter {
  private readonly samples: number[] = [];
  private readonly cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  private cpuAtStart: NodeJS.CpuUsage = { user: 0, system: 0 };
  private startedAt = 0n;

  start(): void {
    this.cpuAtStart = process.cpuUsage();
    this.startedAt = process.hrtime.bigint();
  }

  stop(): void {
    this.samples.push(Number(process.hrtime.bigint() - this.startedAt) / 1000);
    const used = process.cpuUsage(this.cpuAtStart);
    this.cpu.user += used.user;
    this.cpu.system += used.system;
  }

  figures(): WriteFigures {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (p: number): number => Math.round(percentile(sorted, p));
    const cpuMicros = Math.round(((this.cpu.user + this.cpu.system) / this.samples.length) * 10) / 10;
    return { p50Micros: at(50), p90Micros: at(90), p99Micros: at(99), cpuMicros };
  }
}

function timeWrites(file: string, flags: number, writes: number, positioned: boolean, pauseMs = 0): WriteFigures {
  const record = Buffer.alloc(RECORD_BYTES, 'x');
  const fd = openSync(file, flags, 0o600);
  const meter = new WriteMeter();
  try {
    for (let i = 0; i < writes; i++) {
      if (pauseMs > 0) Atomics.wait(sleeper, 0, 0, pauseMs);
      meter.start();
      writeSync(fd, record, 0, record.length, positioned ? i * RECORD_BYTES : null);
      meter.stop();
    }
  } finally {
    closeSync(fd);
  }
  return meter.figures();
}

/** The median of `values`, to a tenth. */
function medianTenths(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(percentile(sorted, 50) * 10) / 10;
}

async function timePooledWrites(file: string, writes: number): Promise<WriteFigures & { handOffP50Micros: number }> {
  const record = Buffer.alloc(RECORD_BYTES, 'x');
  const handle = await open(file, APPEND_FLAGS, 0o600);
  const meter = new WriteMeter();
  const handOffs: number[] = [];
  try {
    for (let i = 0; i < writes; i++) {
      meter.start();
      const handedAt = process.hrtime.bigint();
      const written = handle.write(record, 0, record.length, null);
      handOffs.push(Number(process.hrtime.bigint() - handedAt) / 1000);
      await written;
      meter.stop();
    }
  } finally {
    await handle.close();
  }
  return { ...meter.figures(), handOffP50Micros: medianTenths(handOffs) };
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
    const append = timeWrites(appended, APPEND_FLAGS, writes, false);
    const overwrite = timeWrites(overwritten, O_WRONLY | O_DSYNC, writes, true);
    const pacedWrites = Math.max(1, Math.floor(writes / 4));
    const pacedAppend = timeWrites(path.join(dir, 'paced.jsonl'), APPEND_FLAGS, pacedWrites, false, PAUSE_MS);
    const pooledAppend = await timePooledWrites(path.join(dir, 'pooled.jsonl'), writes);
    return {
      writes,
      bytes: RECORD_BYTES,
      append,
      overwrite,
      pacedAppend: { pauseMs: PAUSE_MS, ...pacedAppend },
      pooledAppend,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const USAGE = `usage: node --import tsx bench/sync-write-bench.ts [DIR]

What one synced 600-byte audit write costs on the disk that holds DIR (the system's temporary folder by
default): appended, over blocks written beforehand, a millisecond apart, and through libuv's thread pool.`;

if (isEntryPoint(import.meta.url)) {
  const dir = readCommandLine(USAGE, (args) => {
    const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
    if (positionals.length > 1) throw new BenchUsageError(`one folder at most (got ${positionals.length})`);
    return positionals[0];
  });
  console.log(JSON.stringify(await runSyncWriteBench(dir !== undefined ? { dir } : {}), null, 2));
}
