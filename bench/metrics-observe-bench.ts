/**
 * What observing a duration costs in the histograms the gateway observes on every call (a pipeline step's
 * time, a dozen times a call): the gateway's series histogram (gateway/services/metrics/series-histogram.ts)
 * against prom-client's `Histogram` through a kept labelled child, for the same label sets and values.
 * Loops of each alternate; medians in nanoseconds per observation, and their ratio.
 */
import { Histogram, Registry } from 'prom-client';
import { createSeriesHistogram } from '../gateway/services/metrics/series-histogram.js';
import { alternateLoops } from './lib/alternate.js';
import { nanosPerIteration } from './lib/stats.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface MetricsObserveBenchResult {
  loops: number;
  perLoop: number;
  /** Median nanoseconds per observation through prom-client's labelled child. */
  promClientNanos: number;
  /** Median nanoseconds per observation through the series histogram. */
  seriesNanos: number;
  /** Median of the per-loop ratios series / prom-client (lower is cheaper). */
  ratio: number;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const STEPS = ['task-state', 'resolve', 'prepare', 'decide', 'limit', 'admit', 'record-intent', 'invoke', 'record'];
const LABELS = STEPS.map((step) => ({ step, outcome: 'next' }));

export async function runMetricsObserveBench(
  options: { loops?: number; perLoop?: number } = {},
): Promise<MetricsObserveBenchResult> {
  const loops = options.loops ?? 7;
  const perLoop = options.perLoop ?? 200_000;
  const config = { name: 'step_seconds', help: 'step time', labelNames: ['step', 'outcome'] as const };
  const promRegistry = new Registry();
  const seriesRegistry = new Registry();
  const prom = new Histogram({ ...config, buckets: BUCKETS, registers: [promRegistry] });
  const series = createSeriesHistogram({ ...config, buckets: BUCKETS, registers: [seriesRegistry] });
  // As the gateway used prom-client: one labelled child kept per label set, looked up by a joined key.
  const children = new Map<string, Histogram.Internal<'step' | 'outcome'>>();
  const promChild = (labels: { step: string; outcome: string }) => {
    const key = `${labels.step}\u0000${labels.outcome}\u0000`;
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = prom.labels(labels)));
    return child;
  };
  const value = (i: number): number => ((i % 97) + 1) / 20_000;
  const viaProm = (i: number): void => promChild(LABELS[i % LABELS.length]!).observe(value(i));
  const viaSeries = (i: number): void => series.series(LABELS[i % LABELS.length]!).observe(value(i));
  const times = await alternateLoops(
    loops,
    () => nanosPerIteration(perLoop, viaProm),
    () => nanosPerIteration(perLoop, viaSeries),
  );
  // Both counted every observation (and the loops were not optimised away).
  const counted = async (registry: Registry): Promise<number> =>
    [...(await registry.metrics()).matchAll(/^step_seconds_count\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
  const expected = (loops + 1) * perLoop;
  if ((await counted(promRegistry)) !== expected || (await counted(seriesRegistry)) !== expected)
    throw new Error('metrics observe bench: an observation was lost');
  return { loops, perLoop, promClientNanos: times.firstNanos, seriesNanos: times.secondNanos, ratio: times.ratio };
}

const USAGE = `usage: node --import tsx bench/metrics-observe-bench.ts

What observing a duration costs: the gateway's series histogram against prom-client's Histogram (ns an
observation, medians, and their ratio).`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  console.log(JSON.stringify(await runMetricsObserveBench(), null, 2));
}
