import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { createSeriesHistogram } from './series-histogram.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const OBSERVATIONS: Array<[Record<'step' | 'outcome', string>, number]> = [
  [{ step: 'decide', outcome: 'next' }, 0.0001],
  [{ step: 'decide', outcome: 'next' }, 0.005], // on a bound: counted in that bucket
  [{ step: 'decide', outcome: 'next' }, 0.0051],
  [{ step: 'invoke', outcome: 'end' }, 0.3],
  [{ step: 'invoke', outcome: 'end' }, 7], // above every bound: +Inf only
  [{ step: 'decide', outcome: 'next' }, 0],
  [{ step: 'record', outcome: 'error' }, 1],
  [{ outcome: 'next', step: 'prepare' }, 0.02], // keys in another order
];

function both(): { ours: Registry; theirs: Registry; observe(labels: Record<string, string>, value: number): void } {
  const config = { name: 'steps_seconds', help: 'Step "time"\\n by step', labelNames: ['step', 'outcome'] as const };
  const ours = new Registry();
  const theirs = new Registry();
  const histogram = createSeriesHistogram({ ...config, buckets: BUCKETS, registers: [ours] });
  const reference = new Histogram({ ...config, buckets: BUCKETS, registers: [theirs] });
  return {
    ours,
    theirs,
    observe(labels, value) {
      histogram.series(labels as Record<'step' | 'outcome', string>).observe(value);
      reference.observe(labels, value);
    },
  };
}

describe('series histogram', () => {
  it("exports exactly what prom-client's histogram exports for the same observations", async () => {
    const { ours, theirs, observe } = both();
    for (const [labels, value] of OBSERVATIONS) observe(labels, value);
    const text = await ours.metrics();
    assert.equal(text, await theirs.metrics());
    // The JSON form too, but for prom-client's empty exemplar slots (exemplars are not enabled).
    const withoutExemplars = (value: unknown): unknown =>
      JSON.parse(JSON.stringify(value, (key, member: unknown) => (key === 'exemplar' ? undefined : member)));
    assert.deepEqual(
      withoutExemplars(await ours.getMetricsAsJSON()),
      withoutExemplars(await theirs.getMetricsAsJSON()),
    );
    // Not two empty exports agreeing: the counts are there.
    assert.match(text, /^steps_seconds_bucket\{le="0\.005",step="decide",outcome="next"\} 3$/m);
    assert.match(text, /^steps_seconds_bucket\{le="1",step="invoke",outcome="end"\} 1$/m);
    assert.match(text, /^steps_seconds_bucket\{le="\+Inf",step="invoke",outcome="end"\} 2$/m);
    assert.match(text, /^steps_seconds_count\{outcome="next",step="prepare"\} 1$/m);
  });

  it('keeps one series per set of label values, however often it is asked for', async () => {
    const registry = new Registry();
    const histogram = createSeriesHistogram({
      name: 'h',
      help: 'h',
      labelNames: ['a'],
      buckets: [1],
      registers: [registry],
    });
    const first = histogram.series({ a: 'x' });
    assert.equal(histogram.series({ a: 'x' }), first);
    assert.notEqual(histogram.series({ a: 'y' }), first);
    first.observe(0.5);
    histogram.series({ a: 'x' }).observe(2);
    const text = await registry.metrics();
    assert.match(text, /^h_count\{a="x"\} 2$/m);
    assert.match(text, /^h_sum\{a="x"\} 2\.5$/m);
    assert.match(text, /^h_count\{a="y"\} 0$/m);
  });

  it('keeps label sets apart whatever characters their values hold', async () => {
    const registry = new Registry();
    const histogram = createSeriesHistogram({
      name: 'h',
      help: 'h',
      labelNames: ['a', 'b'],
      buckets: [1],
      registers: [registry],
    });
    // Joined with a separator, these two would be one key.
    const first = histogram.series({ a: 'x\u0000y', b: 'z' });
    const second = histogram.series({ a: 'x', b: 'y\u0000z' });
    assert.notEqual(first, second);
    first.observe(0.5);
    second.observe(2);
    const text = await registry.metrics();
    assert.ok(text.includes('\nh_count{a="x\u0000y",b="z"} 1\n'), text);
    assert.ok(text.includes('\nh_count{a="x",b="y\u0000z"} 1\n'), text);
    // Asked for again after a reset, a label set starts from nothing.
    registry.resetMetrics();
    histogram.series({ a: 'x', b: 'y\u0000z' }).observe(0.25);
    assert.ok((await registry.metrics()).includes('\nh_sum{a="x",b="y\u0000z"} 0.25\n'));
    assert.doesNotMatch(await registry.metrics(), /b="z"/);
  });

  it('is emptied by the registry reset, and refuses buckets out of order or a name already taken', async () => {
    const { ours, theirs, observe } = both();
    observe({ step: 'decide', outcome: 'next' }, 0.01);
    ours.resetMetrics();
    theirs.resetMetrics();
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.doesNotMatch(await ours.metrics(), /decide/);
    assert.throws(
      () => createSeriesHistogram({ name: 'x', help: 'x', labelNames: [], buckets: [1, 1], registers: [] }),
      /strictly ascending/,
    );
    assert.throws(
      () =>
        createSeriesHistogram({ name: 'steps_seconds', help: 'x', labelNames: [], buckets: [1], registers: [ours] }),
      /already been registered/,
    );
  });
});
