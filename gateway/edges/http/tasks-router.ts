/**
 * HTTP API for tasks, mounted by the composition root:
 *   POST   /v1/tasks             open a task   { intent, tenant?, declaredTools?, ttlSeconds? } -> 201 { task, token, expiresAt }
 *   GET    /v1/tasks/:id         read one of the caller's tasks                                 -> 200 { task }
 *   DELETE /v1/tasks/:id         end one of the caller's tasks  { reason? }                     -> 200 { task }
 *   POST   /v1/tasks/:id/renew   extend one of the caller's tasks { ttlSeconds? }               -> 200 { task, token, expiresAt }
 * Errors are `{ error: { code, message } }`. Responses carrying a token are `Cache-Control: no-store`.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { AuthError, type Principal } from '../../kernel/index.js';
import {
  StoreUnavailableError,
  TaskConflictError,
  TaskEndedError,
  TaskNotFoundError,
  TaskServiceError,
  type IssuedTask,
  type TaskService,
  type Task,
} from '../../services/tasks/index.js';

export const OpenTaskBodySchema = z
  .object({
    intent: z.string().trim().min(1).max(2000),
    tenant: z.string().min(1).max(128).optional(),
    declaredTools: z.array(z.string().min(1).max(256)).max(200).optional(),
    ttlSeconds: z.number().int().positive().optional(),
  })
  .strict();

export const RenewTaskBodySchema = z.object({ ttlSeconds: z.number().int().positive().optional() }).strict();
export const EndTaskBodySchema = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

const TASK_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function taskToJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    agentId: task.agentId,
    ...(task.tenant !== undefined ? { tenant: task.tenant } : {}),
    intent: task.intent,
    ...(task.declaredTools !== undefined ? { declaredTools: task.declaredTools } : {}),
    createdAt: new Date(task.createdAt).toISOString(),
    expiresAt: new Date(task.expiresAt).toISOString(),
    ...(task.endedAt !== undefined ? { endedAt: new Date(task.endedAt).toISOString(), endReason: task.endReason } : {}),
    labelsRead: task.labelsRead,
    callCount: task.callCount,
  };
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** Map an error to its HTTP answer once; unknown errors are INTERNAL with a generic message. */
export function sendTaskError(res: Response, error: unknown): void {
  if (error instanceof AuthError) {
    const status = error.code === 'UNAUTHENTICATED' ? 401 : 403;
    res.setHeader('WWW-Authenticate', `Bearer error="${error.bearerError ?? 'invalid_token'}"`);
    sendError(res, status, error.code, error.message);
  } else if (error instanceof TaskServiceError) {
    sendError(res, error.code === 'FORBIDDEN' ? 403 : 400, error.code, error.message);
  } else if (error instanceof z.ZodError) {
    sendError(
      res,
      400,
      'INVALID_ARGUMENTS',
      error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  } else if (error instanceof TaskNotFoundError) {
    sendError(res, 404, error.code, error.message);
  } else if (error instanceof TaskEndedError || error instanceof TaskConflictError) {
    sendError(res, 409, error.code, error.message);
  } else if (error instanceof StoreUnavailableError) {
    sendError(res, 503, error.code, 'task store unavailable');
  } else {
    sendError(res, 500, 'INTERNAL', 'internal gateway error');
  }
}

function issuedToJson(issued: IssuedTask): Record<string, unknown> {
  return {
    task: taskToJson(issued.task),
    token: issued.token.reveal(),
    expiresAt: new Date(issued.expiresAt).toISOString(),
  };
}

export function createTasksRouter(service: TaskService, authenticate: (req: Request) => Promise<Principal>): Router {
  const router = express.Router();
  router.use('/v1/tasks', express.json({ limit: '32kb' }));

  const handle =
    (fn: (req: Request, res: Response, principal: Principal) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        const principal = await authenticate(req);
        await fn(req, res, principal);
      } catch (error) {
        sendTaskError(res, error);
      }
    };

  const taskId = (req: Request): string => {
    const id = req.params['id'];
    if (typeof id !== 'string' || !TASK_ID.test(id)) throw new TaskNotFoundError();
    return id;
  };

  router.post(
    '/v1/tasks',
    handle(async (req, res, principal) => {
      const body = OpenTaskBodySchema.parse(req.body ?? {});
      const issued = await service.open(principal, {
        intent: body.intent,
        ...(body.tenant !== undefined ? { tenant: body.tenant } : {}),
        ...(body.declaredTools !== undefined ? { declaredTools: body.declaredTools } : {}),
        ...(body.ttlSeconds !== undefined ? { ttlSeconds: body.ttlSeconds } : {}),
      });
      res.status(201).setHeader('Cache-Control', 'no-store').json(issuedToJson(issued));
    }),
  );

  router.get(
    '/v1/tasks/:id',
    handle(async (req, res, principal) => {
      res.json({ task: taskToJson(await service.get(taskId(req), principal)) });
    }),
  );

  router.delete(
    '/v1/tasks/:id',
    handle(async (req, res, principal) => {
      const body = EndTaskBodySchema.parse(req.body ?? {});
      res.json({ task: taskToJson(await service.end(taskId(req), principal, body.reason)) });
    }),
  );

  router.post(
    '/v1/tasks/:id/renew',
    handle(async (req, res, principal) => {
      const body = RenewTaskBodySchema.parse(req.body ?? {});
      const issued = await service.renew(taskId(req), principal, body.ttlSeconds);
      res.setHeader('Cache-Control', 'no-store').json(issuedToJson(issued));
    }),
  );

  // Malformed JSON bodies: answer in the same error shape.
  router.use('/v1/tasks', (error: unknown, _req: Request, res: Response, next: (e?: unknown) => void) => {
    if (res.headersSent) return next(error);
    const status = (error as { status?: unknown }).status;
    sendError(
      res,
      typeof status === 'number' && status < 500 ? status : 400,
      'INVALID_ARGUMENTS',
      'request body is not valid JSON',
    );
  });

  return router;
}
