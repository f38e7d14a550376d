import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkGoals, formatGoals, judge } from './goals.js';
import { compareCell, pairedMedian, type RoundResults, type TargetMedians } from './rounds.js';
import type { LoadResult } from './load.js';

const interval = (low: number, high: number) => ({ low, high, coverage: 0.96 });

/** One measurement: what the goals read of it is its throughput and its p50. */
const result = (callsPerSecond: number, p50Ms: number): LoadResult =>
  ({ calls: 100, errors: 0, throughput: callsPerSecond, p50Ms, p99Ms: p50Ms * 3 }) as unknown as LoadResult;

/** Six rounds of one cell, each target's figures the same in every round but scaled by the round. */
function rounds(cell: string, targets: Record<string, [number, number]>): RoundResults {
  return [1, 1.1, 0.9, 1.05, 0.95, 1].map((scale) => ({
    [cell]: Object.fromEntries(
      Object.entries(targets).map(([name, [calls, p50]]) => [name, result(calls * scale, p50 * scale)]),
    ),
  }));
}

describe('bench goals', () => {
  it('judges a median by where its whole interval lies, and by the median alone without one', () => {
    assert.equal(judge('at least', 1, 1.1, interval(1.0, 1.3)), 'met');
    assert.equal(judge('at least', 1, 0.8, interval(0.6, 0.99)), 'missed');
    assert.equal(judge('at least', 1, 1.05, interval(0.9, 1.1)), 'not told apart');
    assert.equal(judge('at most', 0.5, 0.4, interval(0.3, 0.5)), 'met');
    assert.equal(judge('at most', 0.5, 0.7, interval(0.51, 0.9)), 'missed');
    assert.equal(judge('at most', 0.5, 0.45, interval(0.4, 0.6)), 'not told apart');
    assert.equal(judge('at least', 1, 1.0, undefined), 'median meets');
    assert.equal(judge('at least', 1, 0.99, undefined), 'median misses');
    assert.equal(judge('at most', 0.5, 0.51, undefined), 'median misses');
    assert.equal(judge('at most', 0.5, Number.NaN, undefined), 'median misses');
  });

  it('judges the throughput goal in every cell and the added p50 goals at one session only', () => {
    const one = rounds('raw/legacy/1', {
      direct: [1000, 0.5],
      'mcp-proxy': [500, 1.2],
      portcullis: [400, 1.3],
      'portcullis-noflush': [600, 0.9],
    });
    const many = rounds('raw/legacy/32', { direct: [2000, 10], 'mcp-proxy': [1500, 15], portcullis: [1800, 12] });
    const all = one.map((round, i) => ({ ...round, ...many[i] }));
    const targets = ['direct', 'mcp-proxy', 'portcullis', 'portcullis-noflush'];
    const comparisons = [...compareCell(all, 'raw/legacy/1', targets), ...compareCell(all, 'raw/legacy/32', targets)];
    const checks = checkGoals({ comparisons, modernOverLegacy: [], micro: {} });
    const summary = checks.map((c) => `${c.goal} @ ${c.cell}: ${c.verdict} ${c.median.toFixed(2)}`);
    assert.deepEqual(summary, [
      'portcullis / mcp-proxy throughput >= 1.00 @ raw/legacy/1: missed 0.80',
      'portcullis / mcp-proxy throughput >= 1.00 @ raw/legacy/32: met 1.20',
      // 0.8 ms over direct, scaled 0.9 to 1.1 by the rounds: 0.72 to 0.88 ms, wholly under 1 ms.
      'portcullis added p50 over direct <= 1.0 ms @ raw/legacy/1: met 0.80',
      // 0.4 ms at the median, 0.36 to 0.44: under 0.5 ms in every round.
      'portcullis-noflush added p50 over direct <= 0.5 ms @ raw/legacy/1: met 0.40',
    ]);
    // The 32-session cell's added p50 (2 ms) is reported among the comparisons but is no goal.
    assert.ok(comparisons.some((c) => c.cell === 'raw/legacy/32' && c.metric === 'addedP50Ms'));
  });

  it('judges the 2026-07-28 era against the 2025 era for Portcullis, not for the echo server', () => {
    const checks = checkGoals({
      comparisons: [],
      modernOverLegacy: [
        { target: 'portcullis', sessions: 32, ...pairedMedian([0.9, 1.1, 0.95, 1.05, 1.0, 0.98]) },
        { target: 'portcullis', sessions: 1, ...pairedMedian([0.8, 0.85, 0.9]) },
        { target: 'direct', sessions: 32, ...pairedMedian([0.5, 0.6, 0.55, 0.58, 0.6, 0.62]) },
      ],
      micro: {},
    });
    assert.deepEqual(
      checks.map((c) => [c.cell, c.verdict]),
      [
        ['raw/*/32', 'not told apart'],
        ['raw/*/1', 'median misses'],
      ],
    );
  });

  it("judges the policy micro-benchmark's p99 at its largest size by its own target", () => {
    const policy = (p99: number) => ({
      policy: {
        rows: [
          { rules: 10, p99Micros: 1 },
          { rules: 10_000, p99Micros: p99 },
        ],
        targetP99Micros: 50,
        meetsTarget: p99 <= 50,
      },
    });
    const met = checkGoals({ comparisons: [], modernOverLegacy: [], micro: policy(30.3) });
    assert.deepEqual(met, [
      { goal: 'policy p99 at 10,000 rules <= 50 us', cell: 'micro', median: 30.3, verdict: 'met' },
    ]);
    assert.equal(checkGoals({ comparisons: [], modernOverLegacy: [], micro: policy(50.01) })[0]?.verdict, 'missed');
    assert.deepEqual(checkGoals({ comparisons: [], modernOverLegacy: [], micro: {} }), []);
  });

  it('judges the 10,000-rule policy in the gateway from its own histogram, the rounds pooled', () => {
    const medians = (target: string, perBucket: number[]): TargetMedians => ({
      cell: 'raw/legacy/32',
      target,
      rounds: 6,
      throughput: 1000,
      p50Ms: 5,
      p99Ms: 20,
      policyEvaluations: {
        decisions: perBucket.reduce((a, b) => a + b, 0),
        boundsMicros: [10, 25, 50, 100],
        perBucket,
      },
    });
    const checks = checkGoals({
      comparisons: [],
      modernOverLegacy: [],
      micro: {},
      medians: [
        // 990 of 1,000 decisions within 50 µs: the 99th percentile is within that bound.
        medians('portcullis-10k-rules', [900, 60, 30, 10, 0]),
        // The same figures for the gateway with its small default policy are no goal.
        medians('portcullis', [900, 60, 30, 10, 0]),
        { ...medians('portcullis-10k-rules', [900, 60, 29, 10, 1]), cell: 'raw/modern/32' },
      ],
    });
    assert.deepEqual(
      checks.map((c) => [c.goal, c.cell, c.median, c.verdict]),
      [
        ['policy p99 at 10,000 rules <= 50 us in the gateway', 'raw/legacy/32', 50, 'met'],
        ['policy p99 at 10,000 rules <= 50 us in the gateway', 'raw/modern/32', 100, 'missed'],
      ],
    );
  });

  it('prints one row a goal and cell, with its verdict, median and interval', () => {
    const text = formatGoals([
      {
        goal: 'portcullis / mcp-proxy throughput >= 1.00',
        cell: 'raw/legacy/32',
        median: 1.27,
        interval: interval(1.09, 1.32),
        verdict: 'met',
      },
      {
        goal: 'portcullis 2026-07-28 / 2025 throughput >= 1.00',
        cell: 'raw/*/1',
        median: 0.91,
        verdict: 'median misses',
      },
    ]);
    const lines = text.split('\n');
    assert.match(lines[0]!, /^goal\s+cell\s+verdict\s+median\s+95% interval$/);
    assert.match(
      lines[2]!,
      /^portcullis \/ mcp-proxy throughput >= 1\.00\s+raw\/legacy\/32\s+met\s+1\.27\s+1\.09 to 1\.32$/,
    );
    assert.match(lines[3]!, /raw\/\*\/1\s+median misses\s+0\.91\s+-$/);
    assert.match(text, /not told apart: the interval holds the bound/);
  });
});
