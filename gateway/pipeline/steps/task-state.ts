/**
 * task: the task as the store knows it now. An ended task (and every credential bound to it) stops working
 * at once on every instance, and data labels read earlier in the task feed data-flow rules. A store that
 * cannot answer ends the run with STORE_UNAVAILABLE: an outage is not reported as an ended task.
 *
 * Read once a request: when the edge has just read the task live for this request (`ctx.taskReadLive`,
 * its facts holding the labels it read), that read stands, and the store is not asked twice for the same.
 */
import { GatewayError } from '../../kernel/index.js';
import type { TaskStateSource } from '../../services/tasks/index.js';
import type { Step } from '../step.js';

/**
 * `countCalls`: count each run under a live task (operators see the count). Where the step reads the task, the
 * read counts the run (one store operation for both: `TaskStateSource.current`'s `countCall`). Where the edge
 * read it, the count is sent on its own and never waited for: it never blocks a call (a later read on the same
 * store, such as an operator's listing, is ordered after it).
 */
export function taskStateStep(tasks: TaskStateSource, options: { countCalls?: boolean } = {}): Step {
  const countCall = (taskId: string): void => void tasks.countCall(taskId).catch(() => undefined);
  return {
    name: 'task',
    async run(state) {
      if (state.ctx.taskReadLive === true) {
        if (options.countCalls === true) countCall(state.ctx.task.id);
        return undefined;
      }
      let current;
      try {
        current = await tasks.current(state.ctx.task.id, { countCall: options.countCalls === true });
      } catch (error) {
        return {
          end: new GatewayError('STORE_UNAVAILABLE', 'the task store is unavailable', undefined, { cause: error }),
        };
      }
      if (!current.live) {
        state.record.reason = 'the task has ended';
        return { end: new GatewayError('TASK_ENDED', 'the task has ended; open a new task') };
      }
      if (current.labelsRead.length > 0) state.task = { ...state.ctx.task, labelsRead: current.labelsRead };
      return undefined;
    },
  };
}
