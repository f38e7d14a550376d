/**
 * decide for resources, prompts and completions: the policy's rules with `resources` (matched on the
 * canonical URI) and `prompts` (on the exposed name), deny > approve > allow, default deny. A denied item
 * ends the run exactly like an unknown one (RESOURCE_NOT_FOUND, PROMPT_NOT_FOUND); `approve` goes on to
 * the elevate step, as for tools.
 *
 * Completions are a hint a client asks for while its user types, so they never open an approval request:
 * for an item that is denied or needs approval the agent gets no completions (as for an unknown item),
 * nothing reaches the upstream, and the run is recorded as what it was (`deny` POLICY_DENIED, or `approve`
 * APPROVAL_REQUIRED with the reason that completions are withheld).
 */
import { GatewayError } from '../../kernel/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import { setSpanAttributes, spanNames } from '../../services/telemetry/index.js';
import { decideItem, type PolicySource } from '../decide.js';
import type { Step } from '../step.js';
import { decisionAttributes, timedDecision } from './decide.js';
import { EMPTY_COMPLETION } from './resolve.js';

export function decideCatalogStep(policy: PolicySource, metrics?: Metrics): Step {
  return {
    name: 'decide',
    span: { name: spanNames.decision },
    run(state, span) {
      const target = state.target!;
      if (target.kind === 'tool') throw new Error('decide-catalog runs on resources and prompts only');
      const decision = timedDecision(metrics, () =>
        decideItem(policy, state.ctx.principal, {
          kind: target.kind === 'prompt' ? 'prompt' : 'resource',
          name: target.kind === 'prompt' ? target.exposedName : target.uri,
          connector: target.connector.id,
        }),
      );
      state.decision = decision;
      setSpanAttributes(span, decisionAttributes(decision));
      metrics?.recordDecision(decision.effect, decision.rules);
      if (state.operation === 'completion/complete' && decision.effect !== 'allow') {
        state.record.reason =
          decision.effect === 'approve'
            ? `${decision.reason}; completions are withheld (no approval is requested for a completion)`
            : decision.reason;
        state.withheld = true;
        state.result = EMPTY_COMPLETION;
        return { finish: true };
      }
      if (decision.effect !== 'deny') return undefined;
      state.record.reason = decision.reason;
      // What the agent sees of an item it may not use: the same as for an item that does not exist.
      return state.operation === 'prompts/get'
        ? { end: new GatewayError('PROMPT_NOT_FOUND', `Prompt not found: ${state.name}`) }
        : { end: new GatewayError('RESOURCE_NOT_FOUND', `Resource not found: ${state.name}`) };
    },
  };
}
