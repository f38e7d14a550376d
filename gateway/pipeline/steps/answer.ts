/**
 * answer: the elevation tool's answers that need no operator: the call is already allowed, or an earlier
 * grant already covers it. Ends the run early with a readable tool result.
 */
import type { ToolResult } from '../../../connectors/contract.js';
import type { Step } from '../step.js';

export function answerStep(when: 'allowed' | 'granted'): Step {
  return {
    name: when === 'allowed' ? 'answer-allowed' : 'answer-granted',
    when: (state) => (when === 'allowed' ? state.decision?.effect === 'allow' : state.elevated),
    run(state) {
      const text =
        when === 'allowed'
          ? `${state.name} with these arguments is already allowed; no approval is needed.`
          : `${state.name} with these arguments is already approved (request ${state.record.approvalId}).`;
      state.result = { content: [{ type: 'text', text }] } satisfies ToolResult;
      return { finish: true };
    },
  };
}
