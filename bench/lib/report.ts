/**
 * The benchmark's tables: every measurement of every round, then the paired comparisons (per-round ratios
 * and their median). Throughput ratios: higher is better, 1 = as fast. Latency ratios: lower is better,
 * 1 = no added latency. Added p50: milliseconds over the direct connection. Between them, each target's
 * medians over the rounds.
 */
import { percentileBound, POLICY_GOAL_MICROS, shareWithin, type PolicyEvaluations } from './policy-evaluations.js';
import type { MedianInterval, PairedComparison, RoundResults, TargetMedians } from './rounds.js';

/** A figure to `digits` places, `-` for one that is not a number. */
export const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** Records per synced write and the share of those writes made inline: `8.4 / 10%`. */
export function formatAuditWrites(writes: { recordsPerSync: number; inlineShare: number } | undefined): string {
  if (writes === undefined) return '-';
  const share = Number.isFinite(writes.inlineShare) ? `${Math.round(writes.inlineShare * 100)}%` : '-';
  return `${fixed(writes.recordsPerSync, 1)} / ${share}`;
}

/** A synced audit write's mean time and a record's mean wait until durable: `180 / 410` (µs). */
export function formatAuditTimes(writes: { syncMicros: number; waitMicros: number } | undefined): string {
  if (writes === undefined) return '-';
  return `${fixed(writes.syncMicros, 0)} / ${fixed(writes.waitMicros, 0)}`;
}

/**
 * The bound the policy engine's 99th-percentile decision was within over the rounds, pooled, and the share of
 * the decisions within the goal's bound: `<=25 / 99.91%` (µs).
 */
export function formatPolicyDecisions(evaluations: PolicyEvaluations | undefined): string {
  if (evaluations === undefined) return '-';
  const bound = percentileBound(evaluations, 99);
  if (Number.isNaN(bound)) return '-';
  const p99 = Number.isFinite(bound) ? `<=${bound}` : `>${evaluations.boundsMicros.at(-1)}`;
  return `${p99} / ${fixed(100 * shareWithin(evaluations, POLICY_GOAL_MICROS), 2)}%`;
}

/** The policy's 99th-percentile decision (its bucket's bound) and the share of decisions within the goal's bound. */
const POLICY_DECISIONS_HEADER = `policy p99 us / <=${POLICY_GOAL_MICROS}`;
/** Audit records per synced write, and the share of synced writes made on the event loop's thread. */
const AUDIT_WRITES_HEADER = 'audit rec/sync / inline';
/** A synced audit write's mean time, and the mean time a record waited until durable (what a call waits for). */
const AUDIT_TIMES_HEADER = 'audit sync / wait us';
/** The load generator's own CPU per call: the driver's client, beside the target on the same cores. */
const DRIVER_CPU_HEADER = 'driver us/call';
/** The whole machine's busy CPU per call: the target, its upstream, the kernel's work and the driver. */
const MACHINE_CPU_HEADER = 'machine us/call';

export function formatRounds(rounds: RoundResults, cells: readonly string[]): string {
  const header = [
    'cell',
    'round',
    'target',
    'calls',
    'errors',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'mean ms',
    'max ms',
    'cpu us/call',
    'main/v8/pool',
    DRIVER_CPU_HEADER,
    MACHINE_CPU_HEADER,
    AUDIT_WRITES_HEADER,
    AUDIT_TIMES_HEADER,
  ];
  const rows: string[][] = [];
  for (const cell of cells) {
    rounds.forEach((round, i) => {
      for (const [target, r] of Object.entries(round[cell] ?? {})) {
        rows.push([
          cell,
          String(i + 1),
          target,
          `${r.calls}${r.truncated ? '*' : ''}`,
          String(r.errors),
          fixed(r.throughput, 0),
          fixed(r.p50Ms, 2),
          fixed(r.p99Ms, 2),
          fixed(r.meanMs, 2),
          fixed(r.maxMs, 2),
          r.cpuMicrosPerCall !== undefined ? String(r.cpuMicrosPerCall) : '-',
          r.cpuPerCallByThread !== undefined
            ? `${r.cpuPerCallByThread.main}/${r.cpuPerCallByThread.v8}/${r.cpuPerCallByThread.pool}`
            : '-',
          r.driverCpuMicrosPerCall !== undefined ? String(r.driverCpuMicrosPerCall) : '-',
          r.machineCpuMicrosPerCall !== undefined ? String(r.machineCpuMicrosPerCall) : '-',
          formatAuditWrites(r.auditWrites),
          formatAuditTimes(r.auditWrites),
        ]);
      }
    });
  }
  const lines = [renderTable(header, rows)];
  if (rows.some((row) => row[3]?.endsWith('*')))
    lines.push('* the time budget ended the run before every call was made');
  return lines.join('\n');
}

/** Each target's medians over the rounds (see `targetMedians`). */
export function formatMedians(medians: readonly TargetMedians[], rounds: number): string {
  const rows = medians.map((m) => [
    m.cell,
    m.target,
    String(m.rounds),
    fixed(m.throughput, 0),
    fixed(m.p50Ms, 2),
    fixed(m.p99Ms, 2),
    m.cpuMicrosPerCall !== undefined ? fixed(m.cpuMicrosPerCall, 0) : '-',
    m.cpuPerCallByThread !== undefined
      ? `${fixed(m.cpuPerCallByThread.main, 0)}/${fixed(m.cpuPerCallByThread.v8, 0)}/${fixed(m.cpuPerCallByThread.pool, 0)}`
      : '-',
    m.driverCpuMicrosPerCall !== undefined ? fixed(m.driverCpuMicrosPerCall, 0) : '-',
    m.machineCpuMicrosPerCall !== undefined ? fixed(m.machineCpuMicrosPerCall, 0) : '-',
    formatAuditWrites(m.auditWrites),
    formatAuditTimes(m.auditWrites),
    formatPolicyDecisions(m.policyEvaluations),
  ]);
  return [
    renderTable(
      [
        'cell',
        'target',
        'rounds',
        'calls/s',
        'p50 ms',
        'p99 ms',
        'cpu us/call',
        'main/v8/pool',
        DRIVER_CPU_HEADER,
        MACHINE_CPU_HEADER,
        AUDIT_WRITES_HEADER,
        AUDIT_TIMES_HEADER,
        POLICY_DECISIONS_HEADER,
      ],
      rows,
      2,
    ),
    `medians over the rounds (of ${rounds}) that measured each target`,
  ].join('\n');
}

const METRIC_LABEL: Record<PairedComparison['metric'], string> = {
  throughput: 'throughput',
  p50Ms: 'p50',
  p99Ms: 'p99',
  addedP50Ms: 'added p50 ms',
  cpuMicrosPerCall: 'cpu/call',
  machineCpuMicrosPerCall: 'machine cpu/call',
  addedCpuMicros: 'added cpu us/call',
};

/** A median's confidence interval as `low to high`, `-` when there is none. */
export function formatInterval(interval: MedianInterval | undefined): string {
  return interval === undefined ? '-' : `${fixed(interval.low, 2)} to ${fixed(interval.high, 2)}`;
}

export function formatComparisons(comparisons: readonly PairedComparison[], rounds: number): string {
  const rows = comparisons.map((c) => [
    c.cell,
    c.label,
    METRIC_LABEL[c.metric],
    fixed(c.median, 2),
    formatInterval(c.interval),
    c.perRound.map((v) => fixed(v, 2)).join(' '),
  ]);
  return [
    renderTable(['cell', 'comparison', 'metric', 'median', '95% interval', `per round (${rounds})`], rows),
    'median of paired per-round ratios; throughput: higher is better (1.00 = as fast); latency: lower is better;',
    "95% interval: the median's confidence interval, from the rounds' order (none with fewer than six rounds)",
  ].join('\n');
}

/** A plain-text table: the first `labelColumns` columns aligned left, the figures after them right. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], labelColumns = 3): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i < labelColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
