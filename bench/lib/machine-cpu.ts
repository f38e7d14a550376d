/**
 * The whole machine's busy CPU time, from Linux's /proc/stat: every process and kernel thread on every
 * core. A target's own CPU per call leaves out what a call makes others do: the upstream behind a proxy,
 * the kernel's journal thread that commits a synced write, softirq work for its packets. Over a phase in
 * which the bench's processes are all that runs, the machine's busy time per call is what one call costs
 * the machine, driver included, so two targets measured in one round compare on everything they cause.
 */
import { readFile } from 'node:fs/promises';
import { ticksToMicros } from './thread-cpu.js';

/**
 * Busy time of all cores in microseconds from the text of /proc/stat: user, nice, system, irq and softirq
 * of its `cpu` line. Idle and iowait are left out, and so is steal (time a hypervisor gave this machine's
 * cores to others: no work of this machine's); guest time is already inside user. Undefined when the text
 * has no such line.
 */
export function parseMachineBusy(text: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 8).map(Number);
  if (fields.length < 7 || fields.some((v) => !Number.isFinite(v))) return undefined;
  const [user, nice, system, , , irq, softirq] = fields as [number, number, number, number, number, number, number];
  return ticksToMicros(user + nice + system + irq + softirq);
}

/** The machine's busy CPU time now, in microseconds; undefined off Linux. */
export async function machineBusyMicros(): Promise<number | undefined> {
  try {
    return parseMachineBusy(await readFile('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}
