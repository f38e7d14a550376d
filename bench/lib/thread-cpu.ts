/**
 * Where a process spends its CPU time, by kind of thread, from Linux's /proc/<pid>/task/<tid>/stat. A
 * CPU profile sees only the main thread; a Node server also runs V8's worker threads (parallel scavenges,
 * concurrent marking and sweeping, background compilation: what its allocations cost beyond the pauses the
 * profile shows) and libuv's pool (file system calls, such as the audit log's synced writes).
 */
import { readdir, readFile } from 'node:fs/promises';

/** CPU time (user + system) in microseconds, by kind of thread. */
export interface ThreadCpu {
  /** The thread that runs JavaScript (and the collector's pauses). */
  main: number;
  /** V8's platform workers: garbage collection helpers and background compilation. */
  v8: number;
  /** libuv's thread pool: file system calls, DNS lookups, crypto work handed off. */
  pool: number;
  /** Every other thread (the inspector's, signal handling, platform timers). */
  other: number;
}

export type ThreadKind = keyof ThreadCpu;

/** Clock ticks per second of /proc stat files (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU time in microseconds from a count of /proc's clock ticks (`/proc/stat`, `/proc/<pid>/stat`). */
export function ticksToMicros(ticks: number): number {
  return (ticks * 1_000_000) / USER_HZ;
}

/** A thread's name and CPU time from the text of its stat file; undefined when the text is not one. */
export function parseThreadStat(text: string): { name: string; cpuMicros: number } | undefined {
  // The name sits in parentheses and may itself hold spaces and ')': it ends at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || fields.length < 13) return undefined;
  return { name: text.slice(open + 1, close), cpuMicros: ticksToMicros(utime + stime) };
}

/** Which kind a thread is, by its id (the main thread's is the process id) and the name Node and V8 give it. */
export function threadKind(tid: number, pid: number, name: string): ThreadKind {
  if (tid === pid) return 'main';
  if (name.startsWith('V8')) return 'v8';
  if (name.startsWith('libuv-worker')) return 'pool';
  return 'other';
}

/** User + system CPU time of a process (every thread) from /proc, in microseconds; undefined elsewhere. */
export async function processCpuMicros(pid: number): Promise<number | undefined> {
  try {
    return parseThreadStat(await readFile(`/proc/${pid}/stat`, 'utf8'))?.cpuMicros;
  } catch {
    return undefined;
  }
}

/**
 * The CPU time of every live thread of `pid`, by kind; undefined where /proc cannot be read (not Linux, the
 * process gone). A thread that ended takes its time with it: compare two readings of long-lived threads.
 */
export async function processThreadCpu(pid: number): Promise<ThreadCpu | undefined> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const total: ThreadCpu = { main: 0, v8: 0, pool: 0, other: 0 };
  const stats = await Promise.all(
    tids.map((tid) => readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined)),
  );
  stats.forEach((text, i) => {
    const stat = text === undefined ? undefined : parseThreadStat(text);
    if (stat !== undefined) total[threadKind(Number(tids[i]), pid, stat.name)] += stat.cpuMicros;
  });
  return total;
}

/** `after - before` per call, rounded to microseconds. */
export function threadCpuPerCall(before: ThreadCpu, after: ThreadCpu, calls: number): ThreadCpu {
  const per = (kind: ThreadKind): number => Math.round(Math.max(0, after[kind] - before[kind]) / calls);
  return { main: per('main'), v8: per('v8'), pool: per('pool'), other: per('other') };
}
