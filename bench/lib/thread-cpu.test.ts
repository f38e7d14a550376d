/**
 * CPU time by kind of thread: the stat parsing and naming on fixed texts, and a reading of this very
 * process, whose main thread is made to use a known amount of CPU first. No timing is asserted: the CPU
 * is spent until the process's own accounting says so, and only its attribution is checked.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseThreadStat, processCpuMicros, processThreadCpu, threadCpuPerCall, threadKind } from './thread-cpu.js';

// A thread's stat line as Linux writes it (pid, name, state, then numbers; utime and stime are 14th and 15th).
const statLine = (tid: number, name: string, utime: number, stime: number): string =>
  `${tid} (${name}) S 1 ${tid} ${tid} 0 -1 4194368 9 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 100 1000 50`;

describe('thread CPU', () => {
  it('reads the name and the user + system time of a stat line, whatever the name holds', () => {
    assert.deepEqual(parseThreadStat(statLine(7, 'V8Worker', 12, 3)), { name: 'V8Worker', cpuMicros: 150_000 });
    assert.deepEqual(parseThreadStat(statLine(7, 'odd) name (x', 1, 0)), { name: 'odd) name (x', cpuMicros: 10_000 });
    assert.equal(parseThreadStat(''), undefined);
    assert.equal(parseThreadStat('7 (cut) S 1 2'), undefined);
  });

  it('tells the main thread, V8 workers and the libuv pool apart', () => {
    assert.equal(threadKind(100, 100, 'MainThread'), 'main');
    assert.equal(threadKind(100, 100, 'node'), 'main');
    assert.equal(threadKind(101, 100, 'V8Worker'), 'v8');
    assert.equal(threadKind(102, 100, 'libuv-worker'), 'pool');
    assert.equal(threadKind(103, 100, 'SignalInspector'), 'other');
    assert.equal(threadKind(104, 100, 'node'), 'other');
  });

  it('divides what each kind used over a phase by the calls, never below zero', () => {
    const before = { main: 1_000, v8: 500, pool: 100, other: 50 };
    const after = { main: 5_000, v8: 1_500, pool: 100, other: 0 };
    assert.deepEqual(threadCpuPerCall(before, after, 4), { main: 1_000, v8: 250, pool: 0, other: 0 });
  });

  it('charges CPU the main thread uses to the main thread', { skip: !existsSync('/proc/self/task') }, async () => {
    const before = await processThreadCpu(process.pid);
    const processBefore = await processCpuMicros(process.pid);
    assert.ok(before !== undefined && processBefore !== undefined);
    // Spend 200 ms of CPU on this thread, as the process itself counts it.
    const start = process.threadCpuUsage();
    const spent = (): number => {
      const now = process.threadCpuUsage(start);
      return now.user + now.system;
    };
    let sink = 0;
    while (spent() < 200_000) for (let i = 0; i < 10_000; i++) sink += Math.sqrt(i);
    assert.ok(sink > 0);
    const after = await processThreadCpu(process.pid);
    assert.ok(after !== undefined);
    // /proc counts in 10 ms ticks: allow two of them.
    assert.ok(after.main - before.main >= 180_000, `main thread: ${after.main - before.main} µs`);
    // The process's own stat file counts every thread, this one included.
    const processAfter = await processCpuMicros(process.pid);
    assert.ok(processAfter !== undefined && processAfter - processBefore >= 180_000, `process: ${processAfter}`);
    assert.equal(await processThreadCpu(-1), undefined);
    assert.equal(await processCpuMicros(-1), undefined);
  });
});
