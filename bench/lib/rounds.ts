/**
 * Interleaved rounds and paired ratios. Shared machines drift by more than the differences being measured,
 * so every target is measured once per round, next to the others, and a ratio is taken within each round
 * (paired); the figure reported is the median of those per-round ratios. One bad round moves a median of
 * three or more far less than it moves a ratio of two averages.
 */
import type { LoadResult } from './load.js';
import { ratio } from './stats.js';
import { baselineTargetOf } from './target-names.js';
import { poolPolicyEvaluations, type PolicyEvaluations } from './policy-evaluations.js';
import type { ThreadCpu } from './thread-cpu.js';

/** One measurement cell: driver, era and session count, e.g. `raw/legacy/32`. */
export function cellKey(driver: string, mode: string, sessions: number): string {
  return `${driver}/${mode}/${sessions}`;
}

/** round -> cell -> target -> result */
export type RoundResults = Record<string, Record<string, LoadResult>>[];

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A confidence interval for a median: two of the values, and how often such an interval covers the median. */
export interface MedianInterval {
  low: number;
  high: number;
  /** The probability that an interval chosen this way covers the true median (at least the confidence asked). */
  coverage: number;
}

/**
 * A distribution-free confidence interval for the median of the finite `values`: the k-th smallest and the
 * k-th largest, with k the largest for which the interval covers the median with at least `confidence`
 * whatever the values' distribution (the order-statistic interval: the number of values below the median is
 * binomial with p = 1/2). It assumes only that the rounds are independent draws of the same thing. Undefined
 * when there are too few values for that confidence (fewer than six at 95%): even the whole range would
 * cover the median less often than asked.
 */
export function medianInterval(values: readonly number[], confidence = 0.95): MedianInterval | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  // P(exactly j values below the median), kept as a logarithm: 2^-n underflows past about a thousand rounds.
  let logProbability = -n * Math.LN2;
  let tail = 0; // P(fewer than k values below the median)
  let k = 0;
  for (let j = 0; j < n / 2; j++) {
    const probability = Math.exp(logProbability);
    if (1 - 2 * (tail + probability) < confidence) break;
    tail += probability;
    k = j + 1;
    logProbability += Math.log((n - j) / (j + 1));
  }
  if (k === 0) return undefined;
  return { low: sorted[k - 1]!, high: sorted[n - k]!, coverage: 1 - 2 * tail };
}

/** The median of per-round values and, with enough rounds, its 95% interval: what every paired figure reports. */
export function pairedMedian(values: readonly number[]): { median: number; interval?: MedianInterval } {
  const interval = medianInterval(values);
  return { median: median(values), ...(interval !== undefined ? { interval } : {}) };
}

export type Metric = 'throughput' | 'p50Ms' | 'p99Ms' | 'cpuMicrosPerCall' | 'machineCpuMicrosPerCall';

/** `combine(numerator, denominator)` of `metric` in each round of `cell` (NaN where a side is missing). */
function perRound(
  rounds: RoundResults,
  cell: string,
  numerator: string,
  denominator: string,
  metric: Metric,
  combine: (a: number, b: number) => number,
): number[] {
  return rounds.map((round) => {
    const a = round[cell]?.[numerator]?.[metric];
    const b = round[cell]?.[denominator]?.[metric];
    return a === undefined || b === undefined ? Number.NaN : combine(a, b);
  });
}

/** `numerator / denominator` of `metric` in each round of `cell` (NaN where a side is missing). */
export function perRoundRatios(
  rounds: RoundResults,
  cell: string,
  numerator: string,
  denominator: string,
  metric: Metric,
): number[] {
  return perRound(rounds, cell, numerator, denominator, metric, ratio);
}

/** `numerator - denominator` of `metric` in each round (e.g. added p50 in ms). */
export function perRoundDifferences(
  rounds: RoundResults,
  cell: string,
  numerator: string,
  denominator: string,
  metric: Metric,
): number[] {
  return perRound(rounds, cell, numerator, denominator, metric, (a, b) => Math.round((a - b) * 1000) / 1000);
}

export interface PairedComparison {
  cell: string;
  /** e.g. `portcullis / mcp-proxy` */
  label: string;
  metric: Metric | 'addedP50Ms' | 'addedCpuMicros';
  perRound: number[];
  median: number;
  /** 95% confidence interval of the median (`medianInterval`); absent with fewer than six rounds. */
  interval?: MedianInterval;
}

const PEERS = ['mcp-proxy', 'passthrough', 'direct'];

/**
 * What a Portcullis target is measured against besides the peers: each configuration against the baseline
 * build of the same configuration (`<target>-baseline`, `--baseline`: a change against the code before it),
 * and a variant with a feature off (noflush, noaudit, notrace) or the large policy against the defaults
 * (what that feature, or that policy, costs). A baseline target is measured against the peers only.
 */
function basesOf(candidate: string): string[] {
  const ownBaseline = baselineTargetOf(candidate);
  if (ownBaseline === undefined) return PEERS;
  return candidate === 'portcullis' ? [...PEERS, ownBaseline] : [...PEERS, 'portcullis', ownBaseline];
}

/** The comparisons the benchmark reports for one cell, between the targets present in it. */
export function compareCell(rounds: RoundResults, cell: string, targets: readonly string[]): PairedComparison[] {
  const out: PairedComparison[] = [];
  const has = (t: string): boolean => targets.includes(t) && rounds.some((r) => r[cell]?.[t] !== undefined);
  const add = (label: string, metric: PairedComparison['metric'], perRound: number[]): void => {
    if (perRound.some((v) => Number.isFinite(v)))
      out.push({ cell, label, metric, perRound, ...pairedMedian(perRound) });
  };
  for (const candidate of targets.filter((t) => t.startsWith('portcullis') && has(t))) {
    for (const base of basesOf(candidate)) {
      if (!has(base)) continue;
      const label = `${candidate} / ${base}`;
      add(label, 'throughput', perRoundRatios(rounds, cell, candidate, base, 'throughput'));
      add(label, 'p50Ms', perRoundRatios(rounds, cell, candidate, base, 'p50Ms'));
      add(label, 'p99Ms', perRoundRatios(rounds, cell, candidate, base, 'p99Ms'));
      add(label, 'cpuMicrosPerCall', perRoundRatios(rounds, cell, candidate, base, 'cpuMicrosPerCall'));
      add(label, 'machineCpuMicrosPerCall', perRoundRatios(rounds, cell, candidate, base, 'machineCpuMicrosPerCall'));
      if (base === 'direct') {
        add(`${candidate} - direct`, 'addedP50Ms', perRoundDifferences(rounds, cell, candidate, base, 'p50Ms'));
        add(
          `${candidate} - direct`,
          'addedCpuMicros',
          perRoundDifferences(rounds, cell, candidate, base, 'cpuMicrosPerCall'),
        );
      }
    }
  }
  return out;
}

/**
 * One target in one cell, each figure the median over the rounds that measured it: what a change moves
 * between two runs, where the paired ratios compare targets within one run. The CPU split is the median of
 * each kind of thread on its own, so its parts need not add up to `cpuMicrosPerCall`.
 */
export interface TargetMedians {
  cell: string;
  target: string;
  /** Rounds that measured this target in this cell. */
  rounds: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerCall?: number;
  cpuPerCallByThread?: ThreadCpu;
  /** The load generator's own CPU per call (`LoadResult.driverCpuMicrosPerCall`). */
  driverCpuMicrosPerCall?: number;
  /** The whole machine's busy CPU per call (`LoadResult.machineCpuMicrosPerCall`). */
  machineCpuMicrosPerCall?: number;
  /**
   * Audit records per synced write, the share of inline writes, a synced write's mean time and a record's
   * mean wait until durable, µs (Portcullis targets with an audit file).
   */
  auditWrites?: { recordsPerSync: number; inlineShare: number; syncMicros: number; waitMicros: number };
  /** The policy engine's decisions over every round, pooled (Portcullis targets whose `/metrics` has them). */
  policyEvaluations?: PolicyEvaluations;
}

/** A figure, or undefined for a missing one (a phase with no synced write has no ratio). */
const finite = (value: number | undefined): number | undefined =>
  value !== undefined && Number.isFinite(value) ? value : undefined;

/** The medians of every target measured in `cell`, in the order the targets were first measured. */
export function targetMedians(rounds: RoundResults, cell: string): TargetMedians[] {
  const targets = [...new Set(rounds.flatMap((round) => Object.keys(round[cell] ?? {})))];
  return targets.map((target) => {
    const results = rounds.flatMap((round) => {
      const result = round[cell]?.[target];
      return result !== undefined ? [result] : [];
    });
    const medianOf = (pick: (r: LoadResult) => number | undefined): number | undefined => {
      const values = results.flatMap((r) => {
        const value = pick(r);
        return value !== undefined ? [value] : [];
      });
      return values.length > 0 ? median(values) : undefined;
    };
    const cpu = medianOf((r) => r.cpuMicrosPerCall);
    const driverCpu = medianOf((r) => r.driverCpuMicrosPerCall);
    const machineCpu = medianOf((r) => r.machineCpuMicrosPerCall);
    const split = results.some((r) => r.cpuPerCallByThread !== undefined)
      ? {
          main: medianOf((r) => r.cpuPerCallByThread?.main) ?? Number.NaN,
          v8: medianOf((r) => r.cpuPerCallByThread?.v8) ?? Number.NaN,
          pool: medianOf((r) => r.cpuPerCallByThread?.pool) ?? Number.NaN,
          other: medianOf((r) => r.cpuPerCallByThread?.other) ?? Number.NaN,
        }
      : undefined;
    const policyEvaluations = poolPolicyEvaluations(results.flatMap((r) => r.policyEvaluations ?? []));
    return {
      cell,
      target,
      rounds: results.length,
      throughput: median(results.map((r) => r.throughput)),
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      ...(cpu !== undefined ? { cpuMicrosPerCall: cpu } : {}),
      ...(split !== undefined ? { cpuPerCallByThread: split } : {}),
      ...(driverCpu !== undefined ? { driverCpuMicrosPerCall: driverCpu } : {}),
      ...(machineCpu !== undefined ? { machineCpuMicrosPerCall: machineCpu } : {}),
      ...(results.some((r) => r.auditWrites !== undefined)
        ? {
            auditWrites: {
              recordsPerSync: medianOf((r) => finite(r.auditWrites?.recordsPerSync)) ?? Number.NaN,
              inlineShare: medianOf((r) => finite(r.auditWrites?.inlineShare)) ?? Number.NaN,
              syncMicros: medianOf((r) => finite(r.auditWrites?.syncMicros)) ?? Number.NaN,
              waitMicros: medianOf((r) => finite(r.auditWrites?.waitMicros)) ?? Number.NaN,
            },
          }
        : {}),
      ...(policyEvaluations !== undefined ? { policyEvaluations } : {}),
    };
  });
}

/** The same target in two cells (e.g. modern vs legacy era), paired by round. */
export function compareCells(
  rounds: RoundResults,
  target: string,
  cellA: string,
  cellB: string,
  metric: Metric,
): number[] {
  return rounds.map((round) => {
    const a = round[cellA]?.[target]?.[metric];
    const b = round[cellB]?.[target]?.[metric];
    return a === undefined || b === undefined ? Number.NaN : ratio(a, b);
  });
}

/** Rotate `items` by `round` places, so no target is always measured first (or last) in a round. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
