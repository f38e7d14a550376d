/**
 * Summary statistics for one measurement: throughput over the wall-clock time of the measured phase,
 * and latency percentiles over every completed call (nearest-rank method).
 */

export interface Summary {
  /** Calls that completed with a non-error result. */
  calls: number;
  /** Calls that threw or returned `isError`. */
  errors: number;
  wallMs: number;
  /** Completed calls per second. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Nearest-rank percentile of ascending `sorted`; NaN for an empty list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function summarize(latenciesMs: readonly number[], errors: number, wallMs: number): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const total = sorted.reduce((sum, v) => sum + v, 0);
  return {
    calls: sorted.length,
    errors,
    wallMs: round(wallMs),
    throughput: wallMs > 0 ? round((sorted.length / wallMs) * 1000) : 0,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(sorted.length > 0 ? total / sorted.length : Number.NaN),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** `a / b`, rounded; NaN when either side is missing. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? round(a / b) : Number.NaN;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Micro-benchmark loop: runs `body(i)` for i in [0, iterations) and returns the nanoseconds per iteration. */
export function nanosPerIteration(iterations: number, body: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < iterations; i++) body(i);
  return ((performance.now() - started) / iterations) * 1e6;
}
