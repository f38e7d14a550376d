/**
 * The one place that runs a list of steps (docs/design.md section 2). For each step: skip it when its `when`
 * does not hold, run it inside its span (or the run's span), count its duration and outcome, and stop at
 * the first step that ends or suspends the run. Closing steps (record) run after every run.
 *
 * A step that throws is a bug or an outage below it, never a policy outcome: the run ends with INTERNAL
 * (or the truthful code a GatewayError carries), the error goes to `onError` for the logs, and the closing
 * steps still record the run.
 */
import type { Span } from '@opentelemetry/api';
import { GatewayError, toGatewayError } from '../kernel/index.js';
import { withSpan } from '../services/telemetry/index.js';
import type { CallState, RunOutcome } from './call-state.js';
import type { Step, StepOutcome } from './step.js';

export interface StepMetrics {
  observePipelineStep(step: string, outcome: 'next' | 'end' | 'suspend' | 'error', seconds: number): void;
}

export interface RunOptions {
  metrics?: StepMetrics;
  /** Resume a suspended run: skip the steps before this one. */
  from?: string;
  onError?: (error: unknown, where: string) => void;
}

export async function runSteps(
  steps: readonly Step[],
  state: CallState,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const start = options.from === undefined ? 0 : steps.findIndex((step) => step.name === options.from);
  if (start < 0) throw new GatewayError('INVALID_ARGUMENTS', `unknown resume point: ${options.from}`);
  let outcome: RunOutcome = { status: 'completed' };
  for (const step of steps.slice(start)) {
    if (step.closing === true) continue;
    const result = await runOne(step, state, options);
    if (result === undefined) continue;
    outcome = toOutcome(step, result);
    break;
  }
  // A call cancelled by the gateway itself (shutting down) says so, whichever step noticed the abort.
  const reason: unknown = state.ctx.signal.aborted ? state.ctx.signal.reason : undefined;
  if (outcome.status === 'ended' && outcome.error.code === 'CANCELLED' && reason instanceof GatewayError)
    outcome = { ...outcome, error: reason };
  state.outcome = outcome;
  for (const step of steps) {
    if (step.closing !== true) continue;
    const result = await runOne(step, state, options);
    // A closing step may still end the run (the outcome could not be recorded: the result is withheld).
    if (result !== undefined && 'end' in result) {
      outcome = toOutcome(step, result);
      state.outcome = outcome;
    }
  }
  return outcome;
}

async function runOne(step: Step, state: CallState, options: RunOptions): Promise<StepOutcome> {
  if (step.when !== undefined && !step.when(state)) return undefined;
  const started = performance.now();
  let label: 'next' | 'end' | 'suspend' | 'error' = 'error';
  try {
    const run = (span: Span) => step.run(state, span);
    const result =
      step.span === undefined
        ? await run(state.span)
        : await withSpan(step.span.name, step.span.attributes?.(state) ?? {}, run, {
            ...(step.span.kind !== undefined ? { kind: step.span.kind } : {}),
          });
    label = result === undefined || 'finish' in result ? 'next' : 'end' in result ? 'end' : 'suspend';
    return result;
  } catch (error) {
    const gatewayError = toGatewayError(error);
    if (gatewayError.code === 'INTERNAL') options.onError?.(error, `step ${step.name}`);
    return { end: gatewayError };
  } finally {
    options.metrics?.observePipelineStep(step.name, label, (performance.now() - started) / 1000);
  }
}

function toOutcome(step: Step, result: Exclude<StepOutcome, undefined>): RunOutcome {
  if ('end' in result) return { status: 'ended', step: step.name, endsAs: step.endsAs ?? 'deny', error: result.end };
  if ('suspend' in result) return { status: 'suspended', resume: result.suspend };
  return { status: 'completed' };
}
