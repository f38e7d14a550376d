/**
 * HTTP API for tasks, mounted by the composition root:
 *   POST   /v1/tasks             open a task   { intent, tenant?, declaredTools?, ttlSeconds? } -> 201 { task, token, expiresAt }
 *   GET    /v1/tasks/:id         read one of the caller's tasks                                 -> 200 { task }
 *   DELETE /v1/tasks/:id         end one of the caller's tasks  { reason? }                     -> 200 { task }
 *   POST   /v1/tasks/:id/renew   extend one of the caller's tasks { ttlSeconds? }               -> 200 { task, token, expiresAt }
 * Errors are `{ error: { code, message } }` (see http-errors.ts). Responses carrying a token are `Cache-Control: no-store`.
 * A `traceparent` header on the request that opens a task puts the task's trace inside the caller's.
 */
import { ROOT_CONTEXT } from '@opentelemetry/api';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../../kernel/index.js';
import { extractTraceparentFromMeta, traceHeaders } from '../../services/telemetry/index.js';
import { errorMiddleware, sendError } from './http-errors.js';
import { TaskNotFoundError, type IssuedTask, type TaskService, type Task } from '../../services/tasks/index.js';

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
        sendError(res, error);
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
        traceContext: extractTraceparentFromMeta(traceHeaders(req.headers), ROOT_CONTEXT),
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
  router.use('/v1/tasks', errorMiddleware());

  return router;
}
