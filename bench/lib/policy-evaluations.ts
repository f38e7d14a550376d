/**
 * How long a Portcullis target's policy engine took to decide while it served a measured phase, from its
 * `portcullis_policy_evaluation_seconds` histogram on `/metrics`: the bench reads the buckets before and
 * after each phase, and the difference says how many decisions fell within each bound under that load. A
 * percentile is known to the bucket it falls in: "p99 at most 25 µs" means 99% of the decisions were within
 * the 25 µs bound, which is what a goal of the form "p99 at most N µs" asks when N is one of the bounds.
 */

/** The goal's bound on a decision's 99th percentile, µs: one of the histogram's bucket bounds. */
export const POLICY_GOAL_MICROS = 50;

/** The histogram as `/metrics` gives it: upper bounds in seconds, ascending, and the cumulative counts. */
export interface PolicyEvaluationCounts {
  boundsSeconds: number[];
  /** Decisions at or under each bound (cumulative), as exported. */
  cumulative: number[];
  /** Every decision, `+Inf` included. */
  count: number;
}

/** The decisions of one phase (or of several pooled), by bucket. */
export interface PolicyEvaluations {
  decisions: number;
  /** Upper bounds in microseconds, ascending; a last bucket (`+Inf`) holds what is above them all. */
  boundsMicros: number[];
  /** Decisions in each bucket (not cumulative), one more entry than `boundsMicros`. */
  perBucket: number[];
}

const BUCKET = /^portcullis_policy_evaluation_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm;

/** The histogram in a Prometheus text exposition; undefined when it has none (no decision yet, or no such metric). */
export function parsePolicyEvaluationCounts(text: string): PolicyEvaluationCounts | undefined {
  const bounds: number[] = [];
  const cumulative: number[] = [];
  let count: number | undefined;
  for (const match of text.matchAll(BUCKET)) {
    const value = Number(match[2]);
    if (match[1] === '+Inf') count = value;
    else {
      bounds.push(Number(match[1]));
      cumulative.push(value);
    }
  }
  if (count === undefined || ![count, ...bounds, ...cumulative].every(Number.isFinite)) return undefined;
  return { boundsSeconds: bounds, cumulative, count };
}

/**
 * The decisions between two readings. `before` undefined: none before (the series appears with the first
 * decision). Undefined when the readings do not have the same buckets.
 */
export function policyEvaluationsBetween(
  before: PolicyEvaluationCounts | undefined,
  after: PolicyEvaluationCounts,
): PolicyEvaluations | undefined {
  const base = before ?? { boundsSeconds: after.boundsSeconds, cumulative: after.cumulative.map(() => 0), count: 0 };
  if (base.boundsSeconds.join() !== after.boundsSeconds.join()) return undefined;
  const cumulative = after.cumulative.map((value, i) => value - base.cumulative[i]!);
  const decisions = after.count - base.count;
  const perBucket = [...cumulative, decisions].map((value, i) => value - (i > 0 ? cumulative[i - 1]! : 0));
  return { decisions, boundsMicros: after.boundsSeconds.map(toMicros), perBucket };
}

/** Several phases' decisions as one (the rounds of a cell); undefined when there are none or buckets differ. */
export function poolPolicyEvaluations(phases: readonly PolicyEvaluations[]): PolicyEvaluations | undefined {
  const first = phases[0];
  if (first === undefined || phases.some((p) => p.boundsMicros.join() !== first.boundsMicros.join())) return undefined;
  return {
    decisions: phases.reduce((sum, p) => sum + p.decisions, 0),
    boundsMicros: first.boundsMicros,
    perBucket: first.perBucket.map((_, i) => phases.reduce((sum, p) => sum + p.perBucket[i]!, 0)),
  };
}

/** The share of the decisions within `boundMicros` (which must be one of the bounds); NaN without decisions. */
export function shareWithin(evaluations: PolicyEvaluations, boundMicros: number): number {
  const index = evaluations.boundsMicros.indexOf(boundMicros);
  if (index < 0) throw new RangeError(`${boundMicros} µs is not a bucket bound of the policy histogram`);
  if (evaluations.decisions <= 0) return Number.NaN;
  const within = evaluations.perBucket.slice(0, index + 1).reduce((sum, value) => sum + value, 0);
  return within / evaluations.decisions;
}

/**
 * The bound the `percentile`-th decision is within: the smallest upper bound, in µs, at or under which that
 * share of the decisions fell; Infinity when only `+Inf` holds it; NaN without decisions.
 */
export function percentileBound(evaluations: PolicyEvaluations, percentile: number): number {
  if (evaluations.decisions <= 0) return Number.NaN;
  const needed = (percentile / 100) * evaluations.decisions;
  let within = 0;
  for (let i = 0; i < evaluations.boundsMicros.length; i++) {
    within += evaluations.perBucket[i]!;
    if (within >= needed) return evaluations.boundsMicros[i]!;
  }
  return Number.POSITIVE_INFINITY;
}

/** Seconds as microseconds, rounded to a tenth (the bounds are decimal fractions of a second). */
function toMicros(seconds: number): number {
  return Math.round(seconds * 1e7) / 10;
}
