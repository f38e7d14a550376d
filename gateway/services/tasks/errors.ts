/** Errors of the task and revocation stores; messages never include tokens. */

export class TaskNotFoundError extends Error {
  override readonly name = 'TaskNotFoundError';
  readonly code = 'TASK_NOT_FOUND';
  constructor(message = 'task not found') {
    super(message);
  }
}

export class TaskEndedError extends Error {
  override readonly name = 'TaskEndedError';
  readonly code = 'TASK_ENDED';
  constructor(message = 'task has ended') {
    super(message);
  }
}

export class TaskConflictError extends Error {
  override readonly name = 'TaskConflictError';
  readonly code = 'TASK_CONFLICT';
  constructor(message = 'a task with this id already exists') {
    super(message);
  }
}

/** The backing store (Redis) could not be reached or answered garbage; callers fail closed. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message = 'state store unavailable', options?: ErrorOptions) {
    super(message, options);
  }
}
