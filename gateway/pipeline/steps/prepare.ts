/**
 * prepare: validate the arguments and compute the exact operation (method, canonical URL) without sending
 * anything, so that decide, elevate and record judge exactly what invoke will send.
 */
import { toGatewayError } from '../../kernel/index.js';
import { toolOf } from '../call-state.js';
import type { Step } from '../step.js';

export function prepareStep(): Step {
  return {
    name: 'prepare',
    async run(state) {
      const tool = toolOf(state);
      try {
        state.prepared = await tool.connector.prepareCall(tool.descriptor.name, state.args);
      } catch (error) {
        return { end: toGatewayError(error) };
      }
      const operation = state.prepared.operation;
      state.record.operation =
        operation !== undefined ? `${operation.method} ${operation.url}` : `tools/call ${tool.descriptor.name}`;
      if (operation !== undefined) state.record.target = `${tool.connector.id} ${operation.host}:${operation.port}`;
      return undefined;
    },
  };
}
