/**
 * The pipeline's view of a task: is it live right now, and which data labels has it read so far. Reads
 * the shared store on every call, so an ended task stops working at once on every instance. Store errors
 * propagate (StoreUnavailableError): the caller refuses the call with a truthful code.
 */
import { isTaskLive, type TaskStore } from './types.js';

export interface TaskState {
  live: boolean;
  labelsRead: readonly string[];
  /** Epoch ms; present for live tasks. */
  expiresAt?: number;
}

export interface TaskStateSource {
  /**
   * The task's state now. `countCall`: the call this read admits is counted on the task in the same store
   * operation (`TaskStore.getAndCountCall`) when the store finds the task live.
   */
  current(taskId: string, options?: { countCall?: boolean }): Promise<TaskState>;
  addLabels(taskId: string, labels: readonly string[]): Promise<void>;
  /** Count one call made under the task (one whose task was read without counting it). */
  countCall(taskId: string): Promise<void>;
}

export function createTaskStateSource(store: TaskStore, now: () => number = Date.now): TaskStateSource {
  return {
    async current(taskId, options) {
      const task = options?.countCall === true ? await store.getAndCountCall(taskId) : await store.get(taskId);
      if (!isTaskLive(task, now())) return { live: false, labelsRead: [] };
      return { live: true, labelsRead: task.labelsRead, expiresAt: task.expiresAt };
    },
    addLabels: (taskId, labels) => store.addLabels(taskId, labels),
    countCall: async (taskId) => void (await store.incrementCalls(taskId)),
  };
}
