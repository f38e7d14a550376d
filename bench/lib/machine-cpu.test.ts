/**
 * The machine's busy CPU time: the parsing of /proc/stat on fixed texts, and a reading of this machine
 * across CPU this process is made to use. No timing is asserted: the CPU is spent until the process's own
 * accounting says so, and the machine's reading must have grown by at least that much.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { machineBusyMicros, parseMachineBusy } from './machine-cpu.js';

describe('machine CPU', () => {
  it('adds user, nice, system, irq and softirq of the cpu line, leaving idle, iowait and steal out', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice, in ticks of 10 ms.
    const text = [
      'cpu  100 2 30 5000 70 4 5 6 9 1',
      'cpu0 50 1 15 2500 35 2 3 3 5 0',
      'cpu1 50 1 15 2500 35 2 2 3 4 1',
      'intr 12345',
    ].join('\n');
    assert.equal(parseMachineBusy(text), (100 + 2 + 30 + 4 + 5) * 10_000);
  });

  it('refuses a text with no cpu line or too few figures in it', () => {
    assert.equal(parseMachineBusy(''), undefined);
    assert.equal(parseMachineBusy('cpu0 1 2 3 4 5 6 7 8\nintr 1'), undefined);
    assert.equal(parseMachineBusy('cpu  1 2 3 4 5'), undefined);
    assert.equal(parseMachineBusy('cpu  1 2 x 4 5 6 7 8'), undefined);
  });

  it('counts CPU this process uses', { skip: !existsSync('/proc/stat') }, async () => {
    const before = await machineBusyMicros();
    assert.ok(before !== undefined);
    const used = process.cpuUsage();
    let spin = 0;
    while (process.cpuUsage(used).user < 50_000) spin += Math.sqrt(spin + 1);
    const after = await machineBusyMicros();
    assert.ok(after !== undefined);
    // Ticks of 10 ms: the machine's count may trail this process's by up to a tick on each core.
    assert.ok(
      after - before >= 30_000,
      `machine busy time grew by ${after - before} µs over 50 ms of CPU (${spin > 0})`,
    );
  });
});
