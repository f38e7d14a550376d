export type { NewTask, Task, TaskListFilter, TaskStore } from './types.js';
export { isTaskLive } from './types.js';
export { StoreUnavailableError, TaskConflictError, TaskEndedError, TaskNotFoundError } from './errors.js';
export { createMemoryTaskStore, type MemoryTaskStoreOptions } from './memory-task-store.js';
export { createRedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
