/**
 * Micro-benchmarks that compare two ways of doing the same work time them in alternating loops, so that a
 * machine's drift falls on both alike.
 */
import { median } from './rounds.js';

/** Medians of the two ways' times and of the per-loop ratios. */
export interface AlternatedTimes {
  /** Median nanoseconds per iteration of the first way. */
  firstNanos: number;
  /** Median nanoseconds per iteration of the second way. */
  secondNanos: number;
  /** Median of the per-loop ratios second / first (lower: the second is cheaper). */
  ratio: number;
}

/**
 * One unmeasured loop of each way first (warm-up), then `loops` pairs. Each function runs one loop and
 * returns its nanoseconds per iteration. Figures are rounded to 0.01.
 */
export async function alternateLoops(
  loops: number,
  first: () => number | Promise<number>,
  second: () => number | Promise<number>,
): Promise<AlternatedTimes> {
  await first();
  await second();
  const firstTimes: number[] = [];
  const secondTimes: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < loops; i++) {
    const a = await first();
    const b = await second();
    firstTimes.push(a);
    secondTimes.push(b);
    ratios.push(b / a);
    // Timers and I/O run between loops, as they would between calls.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const hundredths = (n: number): number => Math.round(n * 100) / 100;
  return {
    firstNanos: hundredths(median(firstTimes)),
    secondNanos: hundredths(median(secondTimes)),
    ratio: hundredths(median(ratios)),
  };
}
