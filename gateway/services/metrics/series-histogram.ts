/**
 * A Prometheus histogram for the metrics observed on every call, several times a call (pipeline steps, tool
 * calls, MCP operations): each set of label values is resolved once to a series, and observing a value
 * into a series is a bucket search and three additions. prom-client's own `Histogram` validates and hashes
 * the label object on every `observe`, even through a labelled child, which cost more than the rest of
 * the metrics together.
 *
 * The metric registers on a prom-client `Registry` like prom-client's own and exports the same thing:
 * the same `_bucket` (cumulative, with `+Inf`), `_sum` and `_count` series, in the same order and with the
 * same labels, so `/metrics` reads exactly as before.
 */
import type { Registry } from 'prom-client';

export interface SeriesHistogramConfig<T extends string> {
  name: string;
  help: string;
  labelNames: readonly T[];
  /** Upper bounds, ascending (`+Inf` is implied). */
  buckets: readonly number[];
  registers: readonly Registry[];
}

/** One set of label values of the histogram. */
export interface HistogramSeries {
  /** `value` must be a finite number; callers check (a duration from `performance.now()` always is). */
  observe(value: number): void;
}

export interface SeriesHistogram<T extends string> {
  /** The series for these label values, created on first use and kept (label values must be bounded). */
  series(labels: Readonly<Record<T, string>>): HistogramSeries;
}

interface Series extends HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** One level of the lookup: the series of the label values that lead here, and the next label's values. */
interface SeriesLevel {
  series?: Series;
  readonly next: Map<string, SeriesLevel>;
}

/** One exported value, as prom-client's registry reads it (`sharedLabels`: the series' own labels). */
interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
}

export function createSeriesHistogram<T extends string>(config: SeriesHistogramConfig<T>): SeriesHistogram<T> {
  const bounds = [...config.buckets];
  for (let i = 1; i < bounds.length; i++) {
    if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${config.name}: buckets must be strictly ascending`);
  }
  // Series by label values, one map level per label name in `labelNames` order: finding a series is a
  // lookup per label, with no key string built (and hashed) on every observation. `all` keeps the series
  // in creation order for the export.
  const all: Series[] = [];
  let root: SeriesLevel = { next: new Map() };

  function newSeries(labels: Readonly<Record<string, string>>): Series {
    const series: Series = {
      labels,
      counts: new Array<number>(bounds.length + 1).fill(0),
      sum: 0,
      count: 0,
      observe(value: number) {
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        series.counts[i]!++;
        series.sum += value;
        series.count++;
      },
    };
    return series;
  }

  /** The values as prom-client's histogram gives them for the text format (series labels as shared ones). */
  function exported(): ExportedValue[] {
    const values: ExportedValue[] = [];
    const bucketName = `${config.name}_bucket`;
    for (const series of all) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({
          labels: { le: bounds[i]! },
          sharedLabels: series.labels,
          value: cumulative,
          metricName: bucketName,
        });
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName },
        { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${config.name}_sum` },
        { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${config.name}_count` },
      );
    }
    return values;
  }

  const describe = (values: ExportedValue[]) => ({
    name: config.name,
    help: config.help,
    type: 'histogram',
    values,
    aggregator: 'sum',
  });

  // What a prom-client Registry calls on a registered metric.
  const metric = {
    name: config.name,
    help: config.help,
    type: 'histogram',
    aggregator: 'sum',
    getForPromString: async () => describe(exported()),
    // The JSON form has each value's labels in one object, `le` first (as prom-client's `get`).
    get: async () =>
      describe(
        exported().map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
      ),
    reset: () => {
      all.length = 0;
      root = { next: new Map() };
    },
  };
  for (const registry of config.registers) registry.registerMetric(metric as never);

  return {
    series(labels) {
      const names = config.labelNames;
      let level = root;
      for (let i = 0; i < names.length; i++) {
        const value = String(labels[names[i]!]);
        let next = level.next.get(value);
        if (next === undefined) level.next.set(value, (next = { next: new Map() }));
        level = next;
      }
      if (level.series === undefined) {
        // A copy, in the caller's key order (the order prom-client's histogram prints them in).
        level.series = newSeries({ ...labels });
        all.push(level.series);
      }
      return level.series;
    },
  };
}
