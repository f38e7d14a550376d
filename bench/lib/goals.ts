/**
 * The performance goals a run can judge, each judged from its own figures: the paired comparisons' medians
 * and their 95% intervals, the 2026-07-28 over 2025 throughput, and the policy micro-benchmark.
 *
 * A goal judged from rounds is `met` only when the median's whole interval lies on the goal's side of its
 * bound, `missed` only when it lies wholly on the other side, and `not told apart` when the interval holds
 * the bound: the rounds cannot say which side the true median is on. With fewer than six rounds there is no
 * interval, and the verdict says only which side the median is on (`median meets`, `median misses`). The
 * policy goal is a percentile of 20,000 decisions measured in one process, judged from its value alone;
 * the same goal in the gateway is judged from the decisions the gateway with a 10,000-rule policy
 * (`portcullis-10k-rules`) timed itself while it served each cell, every round's pooled: met when the 99th
 * percentile is within the bound's bucket of its histogram, missed otherwise.
 *
 * The goals of the start-up time, the idle session's memory and the soak have commands of their own
 * (docs/benchmarks.md) and are not judged here.
 */
import type { PolicyBenchReport } from '../policy-bench.js';
import { fixed, formatInterval, renderTable } from './report.js';
import { LARGE_POLICY_RULES } from './large-policy.js';
import { percentileBound, POLICY_GOAL_MICROS } from './policy-evaluations.js';
import type { MedianInterval, PairedComparison, TargetMedians } from './rounds.js';

export type Verdict = 'met' | 'missed' | 'not told apart' | 'median meets' | 'median misses';

/** Which side of its bound a goal's figure must be on. */
export type Side = 'at least' | 'at most';

export interface GoalCheck {
  /** What the goal asks, e.g. `portcullis / mcp-proxy throughput >= 1.00`. */
  goal: string;
  /** The cell (`driver/era/sessions`), `raw/*\/N` for an era comparison, or `micro` for a micro-benchmark. */
  cell: string;
  median: number;
  interval?: MedianInterval;
  verdict: Verdict;
}

/** The part of the benchmark's report the goals are read from. */
export interface GoalInputs {
  comparisons: readonly PairedComparison[];
  modernOverLegacy: readonly { target: string; sessions: number; median: number; interval?: MedianInterval }[];
  micro: Readonly<Record<string, unknown>>;
  /** Each target's figures in each cell (the policy goal in the gateway reads its decisions). */
  medians?: readonly TargetMedians[];
}

interface ComparisonGoal {
  label: string;
  metric: PairedComparison['metric'];
  side: Side;
  bound: number;
  /** Judged only in cells with this many sessions; every cell when absent. */
  sessions?: number;
  /** How the goal reads in the table. */
  goal: string;
}

/** The goals stated in docs/benchmarks.md ("Goals"), in the order the table lists them. */
const COMPARISON_GOALS: readonly ComparisonGoal[] = [
  {
    label: 'portcullis / mcp-proxy',
    metric: 'throughput',
    side: 'at least',
    bound: 1,
    goal: 'portcullis / mcp-proxy throughput >= 1.00',
  },
  {
    label: 'portcullis - direct',
    metric: 'addedP50Ms',
    side: 'at most',
    bound: 1,
    sessions: 1,
    goal: 'portcullis added p50 over direct <= 1.0 ms',
  },
  {
    label: 'portcullis-noflush - direct',
    metric: 'addedP50Ms',
    side: 'at most',
    bound: 0.5,
    sessions: 1,
    goal: 'portcullis-noflush added p50 over direct <= 0.5 ms',
  },
];

const MODERN_OVER_LEGACY_GOAL = 'portcullis 2026-07-28 / 2025 throughput >= 1.00';

/** The target whose decisions the policy goal in the gateway reads. */
const LARGE_POLICY_TARGET = 'portcullis-10k-rules';

/** Whether a value is on the goal's side of its bound (a value that is not a number never is). */
function onGoalSide(side: Side, bound: number, value: number): boolean {
  return side === 'at least' ? value >= bound : value <= bound;
}

/** A median against its bound: from its interval when there is one, from the median alone otherwise. */
export function judge(side: Side, bound: number, median: number, interval: MedianInterval | undefined): Verdict {
  if (interval === undefined) return onGoalSide(side, bound, median) ? 'median meets' : 'median misses';
  if (onGoalSide(side, bound, interval.low) && onGoalSide(side, bound, interval.high)) return 'met';
  if (!onGoalSide(side, bound, interval.low) && !onGoalSide(side, bound, interval.high)) return 'missed';
  return 'not told apart';
}

/** The sessions of a cell key `driver/era/sessions`. */
function sessionsOf(cell: string): number {
  return Number(cell.slice(cell.lastIndexOf('/') + 1));
}

/** The policy micro-benchmark's p99 at its largest size against its own target, when it ran. */
function policyCheck(micro: Readonly<Record<string, unknown>>): GoalCheck | undefined {
  const report = micro['policy'] as PolicyBenchReport | undefined;
  const largest = report?.rows.at(-1);
  if (report === undefined || largest === undefined) return undefined;
  return {
    goal: `policy p99 at ${largest.rules.toLocaleString('en-US')} rules <= ${report.targetP99Micros} us`,
    cell: 'micro',
    median: largest.p99Micros,
    verdict: report.meetsTarget ? 'met' : 'missed',
  };
}

/**
 * The 99th-percentile decision of `portcullis-10k-rules` in each cell it served, from its own histogram:
 * the median column holds the bucket bound it was within (µs; not a number when above every bound).
 */
function policyInGatewayChecks(medians: readonly TargetMedians[]): GoalCheck[] {
  return medians.flatMap((m) => {
    if (m.target !== LARGE_POLICY_TARGET || m.policyEvaluations === undefined) return [];
    const bound = percentileBound(m.policyEvaluations, 99);
    if (Number.isNaN(bound)) return [];
    return [
      {
        goal: `policy p99 at ${LARGE_POLICY_RULES.toLocaleString('en-US')} rules <= ${POLICY_GOAL_MICROS} us in the gateway`,
        cell: m.cell,
        median: bound,
        verdict: bound <= POLICY_GOAL_MICROS ? 'met' : 'missed',
      },
    ];
  });
}

/** Every goal the run's figures can judge, each cell's in the run's cell order. */
export function checkGoals(inputs: GoalInputs): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const goal of COMPARISON_GOALS) {
    for (const comparison of inputs.comparisons) {
      if (comparison.label !== goal.label || comparison.metric !== goal.metric) continue;
      if (goal.sessions !== undefined && sessionsOf(comparison.cell) !== goal.sessions) continue;
      checks.push({
        goal: goal.goal,
        cell: comparison.cell,
        median: comparison.median,
        ...(comparison.interval !== undefined ? { interval: comparison.interval } : {}),
        verdict: judge(goal.side, goal.bound, comparison.median, comparison.interval),
      });
    }
  }
  for (const era of inputs.modernOverLegacy) {
    if (era.target !== 'portcullis') continue;
    checks.push({
      goal: MODERN_OVER_LEGACY_GOAL,
      cell: `raw/*/${era.sessions}`,
      median: era.median,
      ...(era.interval !== undefined ? { interval: era.interval } : {}),
      verdict: judge('at least', 1, era.median, era.interval),
    });
  }
  const policy = policyCheck(inputs.micro);
  if (policy !== undefined) checks.push(policy);
  checks.push(...policyInGatewayChecks(inputs.medians ?? []));
  return checks;
}

export function formatGoals(checks: readonly GoalCheck[]): string {
  const rows = checks.map((check) => [
    check.goal,
    check.cell,
    check.verdict,
    fixed(check.median, 2),
    formatInterval(check.interval),
  ]);
  return [
    renderTable(['goal', 'cell', 'verdict', 'median', '95% interval'], rows, 3),
    'met / missed: the whole interval on one side of the bound; not told apart: the interval holds the bound;',
    'median meets / misses: no interval (fewer than six rounds), the median alone on one side or the other;',
    'policy in the gateway: in the median column, the bound (us) of the bucket that holds the 99th percentile;',
    'start-up, idle memory and soak: their own commands.',
  ].join('\n');
}
