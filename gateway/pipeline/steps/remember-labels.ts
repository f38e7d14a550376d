/**
 * remember-labels: data-flow rules see what a task has read. After a successful call whose rules carry
 * `labels.reads`, the labels are added to the task; if they cannot be, the result is withheld (fail
 * closed: a lost label would let data out later).
 */
import { GatewayError } from '../../kernel/index.js';
import type { TaskStateSource } from '../../services/tasks/index.js';
import type { ToolResult } from '../../../connectors/contract.js';
import type { Step } from '../step.js';

export function rememberLabelsStep(
  tasks: TaskStateSource | undefined,
  onError?: (error: unknown, where: string) => void,
): Step {
  return {
    name: 'remember-labels',
    endsAs: 'error',
    when: (state) =>
      (state.result as ToolResult | undefined)?.isError !== true && (state.decision?.labelsRead?.length ?? 0) > 0,
    async run(state) {
      try {
        if (tasks === undefined) throw new Error('no task store to record data labels in');
        await tasks.addLabels(state.ctx.task.id, state.decision!.labelsRead!);
      } catch (error) {
        onError?.(error, 'record labels');
        state.record.reason = 'could not record the data labels this call read';
        return {
          end: new GatewayError(
            'STORE_UNAVAILABLE',
            'the call ran but its data labels could not be recorded; the result is withheld',
          ),
        };
      }
      return undefined;
    },
  };
}
