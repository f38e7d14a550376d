/** Tasks: the unit of work an agent's credentials are bound to, the store contract and the task service. */
export type { NewTask, OpenTaskTrace, Task, TaskListFilter, TaskStore } from './types.js';
export { isTaskLive } from './types.js';
export { StoreUnavailableError, TaskConflictError, TaskEndedError, TaskNotFoundError } from './errors.js';
export { createTaskService, type IssuedTask, type TaskService, TaskServiceError } from './task-service.js';
export { createTaskStateSource, type TaskState, type TaskStateSource } from './task-state.js';
export { createSessionTasks, type SessionTask, type SessionTasks, type SessionTasksOptions } from './session-tasks.js';
export { openTasks } from './open-tasks.js';
