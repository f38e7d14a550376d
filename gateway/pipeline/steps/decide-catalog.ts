/**
 * decide for resources, prompts and completions. An item the agent may not see ends the run exactly like
 * an unknown one (RESOURCE_NOT_FOUND, PROMPT_NOT_FOUND, no completions).
 */
import { GatewayError } from '../../kernel/index.js';
import type { Visibility } from '../visibility.js';
import { connectorOf } from '../call-state.js';
import type { Step } from '../step.js';
import { EMPTY_COMPLETION } from './resolve.js';

export function decideCatalogStep(visibility: Visibility): Step {
  return {
    name: 'decide',
    run(state) {
      if (visibility.connectorVisible(state.ctx.principal, connectorOf(state))) return undefined;
      state.record.reason = 'not visible to this agent';
      switch (state.operation) {
        case 'completion/complete':
          state.result = EMPTY_COMPLETION;
          return { finish: true };
        case 'prompts/get':
          return { end: new GatewayError('PROMPT_NOT_FOUND', `Prompt not found: ${state.name}`) };
        default:
          return { end: new GatewayError('RESOURCE_NOT_FOUND', `Resource not found: ${state.name}`) };
      }
    },
  };
}
