/**
 * Operator view of tasks (every agent's), for the console and scripts:
 *
 *   GET  /v1/operator/tasks?agent=ID&ended=true      live tasks (and ended ones still retained), newest first  (viewer)
 *   POST /v1/operator/tasks/:id/end  { reason }      end a task now; its token and call credentials stop working  (approver)
 *
 * Ending is audited (`task.end` with the operator as actor) by the task service before the answer.
 * Errors go through the gateway's one HTTP error mapper (`sendError`).
 */
import { GatewayError } from '../../kernel/index.js';
import express, { type Router } from 'express';
import { z } from 'zod';
import { isTaskLive, type TaskService, type TaskStore } from '../../services/tasks/index.js';
import { taskToJson, sendError } from '../http/index.js';
import type { Operator, OperatorAuthenticator } from './operator-auth.js';

const TASK_ID = /^[A-Za-z0-9_-]{1,128}$/;
const EndBodySchema = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(500) }).strict();

export function createOperatorTasksRouter(options: {
  tasks: TaskStore;
  taskService: TaskService;
  operatorAuth: OperatorAuthenticator;
  now?: () => number;
}): Router {
  const now = options.now ?? Date.now;
  const router = express.Router();

  router.get('/v1/operator/tasks', options.operatorAuth.require('viewer'), async (req, res) => {
    try {
      const agent =
        typeof req.query['agent'] === 'string' && req.query['agent'] !== '' ? req.query['agent'] : undefined;
      const tasks = await options.tasks.list({
        ...(agent !== undefined ? { agentId: agent } : {}),
        includeEnded: req.query['ended'] === 'true',
      });
      tasks.sort((a, b) => b.createdAt - a.createdAt);
      res.json({ tasks: tasks.map((task) => ({ ...taskToJson(task), live: isTaskLive(task, now()) })) });
    } catch (error) {
      sendError(res, error);
    }
  });

  router.post(
    '/v1/operator/tasks/:id/end',
    options.operatorAuth.require('approver'),
    express.json({ limit: '4kb' }),
    async (req, res) => {
      try {
        const id = String(req.params['id']);
        if (!TASK_ID.test(id)) throw new GatewayError('INVALID_REQUEST', 'invalid task id');
        const body = EndBodySchema.parse(req.body ?? {});
        const operator = res.locals['operator'] as Operator;
        const existing = await options.tasks.get(id);
        if (existing === undefined) throw new GatewayError('TASK_NOT_FOUND', 'no such task');
        if (!isTaskLive(existing, now())) throw new GatewayError('TASK_ENDED', 'the task has already ended');
        const ended = await options.taskService.end(id, { operator: operator.id }, body.reason);
        res.json({ task: { ...taskToJson(ended), live: false } });
      } catch (error) {
        sendError(res, error);
      }
    },
  );
  return router;
}
