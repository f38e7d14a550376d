/**
 * The one place the operator API turns an error into an HTTP answer `{ error: { code, message } }`.
 * Store outages are 503 STORE_UNAVAILABLE (never a policy outcome); unknown errors are 500 INTERNAL with a
 * generic message, so nothing internal leaks into a response.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { StoreUnavailableError, TaskEndedError, TaskNotFoundError } from '../../services/tasks/index.js';

/** An error the operator routers raise on purpose, with its status and stable code. */
export class OperatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendOperatorError(res: Response, error: unknown): void {
  const [status, code, message] = classify(error);
  res.status(status).json({ error: { code, message } });
}

function classify(error: unknown): [number, string, string] {
  if (error instanceof OperatorHttpError) return [error.status, error.code, error.message];
  if (error instanceof z.ZodError)
    return [400, 'BAD_REQUEST', error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')];
  if (error instanceof TaskNotFoundError) return [404, 'NOT_FOUND', 'no such task'];
  if (error instanceof TaskEndedError) return [409, 'TASK_ENDED', 'the task has already ended'];
  if (error instanceof StoreUnavailableError) return [503, 'STORE_UNAVAILABLE', 'state store unavailable'];
  return [500, 'INTERNAL', 'internal gateway error'];
}
