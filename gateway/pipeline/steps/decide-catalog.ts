/**
 * decide for resources, prompts and completions: the policy's rules with `resources` (matched on the
 * canonical URI) and `prompts` (on the exposed name), deny > approve > allow, default deny. A denied item
 * ends the run exactly like an unknown one (RESOURCE_NOT_FOUND, PROMPT_NOT_FOUND, no completions);
 * `approve` goes on to the elevate step, as for tools.
 */
import { GatewayError } from '../../kernel/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import { setSpanAttributes, spanNames } from '../../services/telemetry/index.js';
import type { CallState } from '../call-state.js';
import { decideItem, type PolicySource } from '../decide.js';
import type { Step } from '../step.js';
import { decisionAttributes } from './decide.js';
import { EMPTY_COMPLETION } from './resolve.js';

export function decideCatalogStep(policy: PolicySource, metrics?: Metrics): Step {
  return {
    name: 'decide',
    span: { name: spanNames.decision },
    run(state, span) {
      const target = state.target!;
      if (target.kind === 'tool') throw new Error('decide-catalog runs on resources and prompts only');
      const decision = decideItem(policy, state.ctx.principal, {
        kind: target.kind === 'prompt' ? 'prompt' : 'resource',
        name: target.kind === 'prompt' ? target.exposedName : target.uri,
        connector: target.connector.id,
      });
      state.decision = decision;
      setSpanAttributes(span, decisionAttributes(decision));
      metrics?.recordDecision(decision.effect, decision.rules);
      const refused =
        decision.effect === 'deny' || (decision.effect === 'approve' && state.operation === 'completion/complete');
      if (!refused) return undefined;
      state.record.reason = decision.reason;
      return hidden(state);
    },
  };
}

/** What the agent sees of an item it may not use: the same as for an item that does not exist. */
export function hidden(state: CallState): { end: GatewayError } | { finish: true } {
  switch (state.operation) {
    case 'completion/complete':
      state.result = EMPTY_COMPLETION;
      return { finish: true };
    case 'prompts/get':
      return { end: new GatewayError('PROMPT_NOT_FOUND', `Prompt not found: ${state.name}`) };
    default:
      return { end: new GatewayError('RESOURCE_NOT_FOUND', `Resource not found: ${state.name}`) };
  }
}
