/**
 * decide: ask the policy about exactly the prepared call. `deny` ends the run here; `approve` leaves it to
 * the elevate step; the rules and policy version of the decision go to the span and the audit record.
 */
import type { CallDecision } from '../../../policies/engine.js';
import { GatewayError, type GatewayErrorCode } from '../../kernel/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import {
  ATTR_PORTCULLIS_DECISION,
  ATTR_PORTCULLIS_POLICY_VERSION,
  ATTR_PORTCULLIS_RULES,
  setSpanAttributes,
  spanNames,
} from '../../services/telemetry/index.js';
import { toolOf } from '../call-state.js';
import { callFacts, decide, withinDeclaredTools, type PolicySource } from '../decide.js';
import type { Step } from '../step.js';

export interface DecideOptions {
  policy: PolicySource;
  metrics?: Metrics;
  now: () => number;
}

export function decideStep(options: DecideOptions): Step {
  return {
    name: 'decide',
    span: { name: spanNames.decision },
    run(state, span) {
      const tool = toolOf(state);
      const facts = callFacts({
        principal: state.ctx.principal,
        task: state.task,
        tool,
        call: state.prepared!,
        now: options.now(),
      });
      const decision = withinDeclaredTools(
        timedDecision(options.metrics, () => decide(options.policy, facts)),
        state.task,
        tool.exposedName,
      );
      state.decision = decision;
      setSpanAttributes(span, decisionAttributes(decision));
      options.metrics?.recordDecision(decision.effect, decision.rules);
      return decision.effect === 'deny' ? { end: denial(decision) } : undefined;
    },
  };
}

const monotonicMs = (): number => performance.now();

/**
 * `evaluate()`, timed into `portcullis_policy_evaluation_seconds` when there are metrics: the engine's own
 * time, so that a large policy's cost can be read off a gateway under load. `clock` (monotonic milliseconds)
 * is for tests.
 */
export function timedDecision(
  metrics: Metrics | undefined,
  evaluate: () => CallDecision,
  clock: () => number = monotonicMs,
): CallDecision {
  if (metrics === undefined) return evaluate();
  const started = clock();
  const decision = evaluate();
  metrics.observePolicyEvaluation((clock() - started) / 1000);
  return decision;
}

export function denial(decision: CallDecision): GatewayError {
  return new GatewayError((decision.code ?? 'POLICY_DENIED') as GatewayErrorCode, decision.reason);
}

export function decisionAttributes(decision: CallDecision): Record<string, unknown> {
  return {
    [ATTR_PORTCULLIS_DECISION]: decision.effect,
    [ATTR_PORTCULLIS_RULES]: [...decision.rules],
    ...(decision.policyVersion !== undefined ? { [ATTR_PORTCULLIS_POLICY_VERSION]: decision.policyVersion } : {}),
  };
}
