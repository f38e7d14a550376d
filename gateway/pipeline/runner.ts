/**
 * The one place that runs a list of steps (docs/design.md section 2). For each step: skip it when its `when`
 * does not hold, run it inside its span (or the run's span), count its duration and outcome, and stop at
 * the first step that ends or suspends the run. Closing steps (record) run after every run.
 *
 * A step that throws is a bug or an outage below it, never a policy outcome: the run ends with INTERNAL
 * (or the truthful code a GatewayError carries), the error goes to `onError` for the logs, and the closing
 * steps still record the run.
 */
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
  for (let index = start; index < steps.length; index++) {
    const step = steps[index]!;
    // A step skipped is not run, timed or counted (and costs no asynchronous call).
    if (step.closing === true || !applies(step, state)) continue;
    const pending = runOne(step, state, options);
    const result = isThenable(pending) ? await pending : pending;
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
    if (step.closing !== true || !applies(step, state)) continue;
    const pending = runOne(step, state, options);
    const result = isThenable(pending) ? await pending : pending;
    // A closing step may still end the run (the outcome could not be recorded: the result is withheld).
    if (result !== undefined && 'end' in result) {
      outcome = toOutcome(step, result);
      state.outcome = outcome;
    }
  }
  return outcome;
}

function applies(step: Step, state: CallState): boolean {
  return step.when === undefined || step.when(state);
}

type StepLabel = 'next' | 'end' | 'suspend' | 'error';

/**
 * Runs one step inside its span and counts it. Synchronous when the step answers synchronously (a step
 * without a span of its own whose `run` returns a value): a call's list runs a dozen steps, and an
 * asynchronous frame and a turn of the microtask queue for each is allocation the call need not make.
 */
function runOne(step: Step, state: CallState, options: RunOptions): StepOutcome | Promise<StepOutcome> {
  const started = performance.now();
  let pending: StepOutcome | Promise<StepOutcome>;
  try {
    pending =
      step.span === undefined
        ? step.run(state, state.span)
        : withSpan(step.span.name, step.span.attributes?.(state) ?? {}, (span) => step.run(state, span), {
            ...(step.span.kind !== undefined ? { kind: step.span.kind } : {}),
          });
  } catch (error) {
    return failed(step, options, started, error);
  }
  if (!isThenable(pending)) return finished(step, options, started, pending);
  return Promise.resolve(pending).then(
    (result) => finished(step, options, started, result),
    (error: unknown) => failed(step, options, started, error),
  );
}

function finished(step: Step, options: RunOptions, started: number, result: StepOutcome): StepOutcome {
  const label: StepLabel = result === undefined || 'finish' in result ? 'next' : 'end' in result ? 'end' : 'suspend';
  observe(step, options, started, label);
  return result;
}

/** A step that threw: a bug or an outage below it, never a policy outcome (see above). */
function failed(step: Step, options: RunOptions, started: number, error: unknown): StepOutcome {
  const gatewayError = toGatewayError(error);
  if (gatewayError.code === 'INTERNAL') options.onError?.(error, `step ${step.name}`);
  observe(step, options, started, 'error');
  return { end: gatewayError };
}

function observe(step: Step, options: RunOptions, started: number, label: StepLabel): void {
  options.metrics?.observePipelineStep(step.name, label, (performance.now() - started) / 1000);
}

/** A promise or any other thenable (what `await` would wait for); an outcome never has a `then`. */
function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function toOutcome(step: Step, result: Exclude<StepOutcome, undefined>): RunOutcome {
  if ('end' in result) return { status: 'ended', step: step.name, endsAs: step.endsAs ?? 'deny', error: result.end };
  if ('suspend' in result) return { status: 'suspended', resume: result.suspend };
  return { status: 'completed' };
}
