/**
 * The step contract. A step is a small module with its dependencies injected when the list is built; it
 * reads and extends the CallState and says how the run goes on. The runner (runner.ts) is the only place
 * that orders steps, wraps them in spans and metrics, and decides what an outcome means.
 */
import type { Span, SpanKind } from '@opentelemetry/api';
import type { GatewayError } from '../kernel/index.js';
import type { CallState, ResumePoint } from './call-state.js';

/**
 * - `undefined`: go on with the next step.
 * - `{ end }`: stop; the closing steps record the error, and the agent gets it.
 * - `{ suspend }`: stop with a resume point (approval pending, input required); running the same list again
 *   with `from: resume.step` continues where it stopped.
 * - `{ finish }`: stop early with the answer in `state.result` (e.g. "already allowed, no approval needed").
 */
export type StepOutcome = undefined | { end: GatewayError } | { suspend: ResumePoint } | { finish: true };

export interface Step {
  /** Stable name: the metrics label and the resume point. */
  readonly name: string;
  /** Runs only when this holds (e.g. elevate only for `approve` decisions). */
  readonly when?: (state: CallState) => boolean;
  /** A closing step: runs after every run, whatever the earlier steps did (the record step). */
  readonly closing?: boolean;
  /** What an end at this step is recorded as (default `deny`); the record step reads it. */
  readonly endsAs?: 'deny' | 'approve' | 'error';
  /** The step's span; steps without one run inside the run's span. */
  readonly span?: { name: string; kind?: SpanKind; attributes?: (state: CallState) => Record<string, unknown> };
  /** `span` is the step's own span when it declares one, else the run's span. */
  run(state: CallState, span: Span): Promise<StepOutcome> | StepOutcome;
}
