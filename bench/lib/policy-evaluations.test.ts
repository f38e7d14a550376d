import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parsePolicyEvaluationCounts,
  percentileBound,
  policyEvaluationsBetween,
  poolPolicyEvaluations,
  shareWithin,
} from './policy-evaluations.js';
import type { LoadResult } from './load.js';
import { formatMedians } from './report.js';
import { targetMedians, type RoundResults } from './rounds.js';

/** The histogram's lines as the gateway exports them, from cumulative counts at 10, 25 and 50 µs. */
function exposition(cumulative: [number, number, number], count: number): string {
  return [
    '# HELP portcullis_policy_evaluation_seconds Time the policy engine took to decide a call',
    '# TYPE portcullis_policy_evaluation_seconds histogram',
    `portcullis_policy_evaluation_seconds_bucket{le="0.00001"} ${cumulative[0]}`,
    `portcullis_policy_evaluation_seconds_bucket{le="0.000025"} ${cumulative[1]}`,
    `portcullis_policy_evaluation_seconds_bucket{le="0.00005"} ${cumulative[2]}`,
    `portcullis_policy_evaluation_seconds_bucket{le="+Inf"} ${count}`,
    `portcullis_policy_evaluation_seconds_sum 0.5`,
    `portcullis_policy_evaluation_seconds_count ${count}`,
    'portcullis_tool_call_duration_seconds_bucket{le="0.005",tool="echo_echo",outcome="ok"} 3',
  ].join('\n');
}

describe('policy evaluations from /metrics', () => {
  it('reads the buckets, and nothing from a text without them', () => {
    assert.deepEqual(parsePolicyEvaluationCounts(exposition([5, 8, 9], 10)), {
      boundsSeconds: [0.00001, 0.000025, 0.00005],
      cumulative: [5, 8, 9],
      count: 10,
    });
    assert.equal(parsePolicyEvaluationCounts('portcullis_decisions_total{effect="allow",rule="r"} 3'), undefined);
  });

  it('takes a phase as the difference of two readings, per bucket, and a first reading as from nothing', () => {
    const before = parsePolicyEvaluationCounts(exposition([5, 8, 9], 10))!;
    const after = parsePolicyEvaluationCounts(exposition([105, 158, 199], 210))!;
    assert.deepEqual(policyEvaluationsBetween(before, after), {
      decisions: 200,
      boundsMicros: [10, 25, 50],
      perBucket: [100, 50, 40, 10],
    });
    assert.deepEqual(policyEvaluationsBetween(undefined, before)?.perBucket, [5, 3, 1, 1]);
    const otherBuckets = parsePolicyEvaluationCounts(exposition([1, 2, 3], 3).replace('0.00005', '0.0001'))!;
    assert.equal(policyEvaluationsBetween(before, otherBuckets), undefined, 'readings with other buckets');
  });

  it('knows a percentile to the bound of its bucket, and the share within a bound', () => {
    const phase = { decisions: 200, boundsMicros: [10, 25, 50], perBucket: [100, 50, 48, 2] };
    assert.equal(percentileBound(phase, 50), 10);
    assert.equal(percentileBound(phase, 99), 50, '198 of 200 are within 50 µs');
    assert.equal(percentileBound(phase, 99.5), Number.POSITIVE_INFINITY, 'the 199th is above every bound');
    assert.equal(shareWithin(phase, 50), 0.99);
    assert.equal(shareWithin(phase, 25), 0.75);
    assert.throws(() => shareWithin(phase, 40), RangeError);
    assert.ok(Number.isNaN(percentileBound({ ...phase, decisions: 0, perBucket: [0, 0, 0, 0] }, 99)));
  });

  it('pools the rounds of a cell bucket by bucket', () => {
    const a = { decisions: 100, boundsMicros: [10, 25, 50], perBucket: [90, 8, 1, 1] };
    const b = { decisions: 100, boundsMicros: [10, 25, 50], perBucket: [50, 50, 0, 0] };
    assert.deepEqual(poolPolicyEvaluations([a, b]), {
      decisions: 200,
      boundsMicros: [10, 25, 50],
      perBucket: [140, 58, 1, 1],
    });
    assert.equal(poolPolicyEvaluations([]), undefined);
    assert.equal(poolPolicyEvaluations([a, { ...b, boundsMicros: [10, 25, 100] }]), undefined);
  });

  it("pools a target's rounds into its medians, and shows the bound its 99th percentile is within", () => {
    const base = { calls: 100, errors: 0, throughput: 100, p50Ms: 1, p99Ms: 2 } as unknown as LoadResult;
    const withDecisions = (perBucket: number[]): LoadResult => ({
      ...base,
      policyEvaluations: { decisions: 100, boundsMicros: [10, 25, 50], perBucket },
    });
    const rounds: RoundResults = [
      { cell: { 'portcullis-10k-rules': withDecisions([90, 9, 1, 0]), direct: base } },
      { cell: { 'portcullis-10k-rules': withDecisions([80, 18, 1, 1]), direct: base } },
    ];
    const [large, direct] = targetMedians(rounds, 'cell');
    assert.deepEqual(large?.policyEvaluations?.perBucket, [170, 27, 2, 1]);
    assert.equal(direct?.policyEvaluations, undefined);
    const table = formatMedians(targetMedians(rounds, 'cell'), 2);
    assert.match(table, /policy p99 us \/ <=50/);
    assert.match(table, /portcullis-10k-rules .* <=50 \/ 99\.50%$/m, '199 of 200 within 50 µs');
    assert.match(table, /direct .* -$/m);
  });
});
