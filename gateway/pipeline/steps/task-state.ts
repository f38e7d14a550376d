/**
 * task: the task as the store knows it now. An ended task (and every credential bound to it) stops working
 * at once on every instance, and data labels read earlier in the task feed data-flow rules. A store that
 * cannot answer ends the run with STORE_UNAVAILABLE: an outage is not reported as an ended task.
 */
import { GatewayError } from '../../kernel/index.js';
import type { TaskStateSource } from '../../services/tasks/index.js';
import type { Step } from '../step.js';

/** `countCalls`: count each run under a live task (operators see the count); counting never blocks a call. */
export function taskStateStep(tasks: TaskStateSource, options: { countCalls?: boolean } = {}): Step {
  return {
    name: 'task',
    async run(state) {
      let current;
      try {
        current = await tasks.current(state.ctx.task.id);
      } catch (error) {
        return {
          end: new GatewayError('STORE_UNAVAILABLE', 'the task store is unavailable', undefined, { cause: error }),
        };
      }
      if (!current.live) {
        state.record.reason = 'the task has ended';
        return { end: new GatewayError('TASK_ENDED', 'the task has ended; open a new task') };
      }
      if (options.countCalls === true) await tasks.countCall(state.ctx.task.id).catch(() => undefined);
      if (current.labelsRead.length > 0) state.task = { ...state.ctx.task, labelsRead: current.labelsRead };
      return undefined;
    },
  };
}
