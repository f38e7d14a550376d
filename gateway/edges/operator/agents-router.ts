/**
 * Operator kill switch over HTTP:
 *   GET  /v1/agents                          -> 200 { agents: [{ id, roles, tenant?, configDisabled, disabled }] }  (viewer)
 *   POST /v1/agents/:id/disable  { reason? } -> 200 { agentId, disabled: true }   (admin)
 *   POST /v1/agents/:id/enable   { reason? } -> 200 { agentId, disabled: false }  (admin)
 * With `operatorAuth` the router checks those roles itself; without it the caller mounts it behind
 * operator authentication. The list answers 503 when the revocation store cannot be reached, because a
 * fail-closed "disabled" read during an outage is not the agent's state.
 * Effective on the agent's next call on every instance sharing the revocation store. Errors are
 * `{ error: { code, message } }`; a store that cannot record the change answers 503 (nothing changed).
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AuditSink } from '../../services/audit/index.js';
import { GatewayError } from '../../kernel/index.js';
import { errorMiddleware, sendCode, sendError } from '../http/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import type { OperatorAuthenticator } from './operator-auth.js';

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BodySchema = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

export interface AgentsRouterOptions {
  /** Name of the operator making the change, for the audit record (e.g. from `res.locals`). */
  actor?: (req: Request, res: Response) => string | undefined;
  /** Checks the operator roles per route (viewer to list, admin to change). */
  operatorAuth?: OperatorAuthenticator;
  /** The configured agents, for the list. */
  agents?: () => readonly ConfiguredAgent[];
  /** Throws StoreUnavailableError when the revocation store cannot answer truthfully. */
  probeStore?: () => Promise<void>;
}

export interface ConfiguredAgent {
  id: string;
  roles: readonly string[];
  tenant?: string | undefined;
  /** Disabled in the configuration (cannot be enabled from the console). */
  disabled?: boolean;
}

export function createAgentsRouter(
  revocation: RevocationStore,
  audit?: AuditSink,
  options: AgentsRouterOptions = {},
): Router {
  const router = express.Router();
  const pass: express.RequestHandler = (_req, _res, next) => next();
  const role = (name: 'viewer' | 'admin'): express.RequestHandler => options.operatorAuth?.require(name) ?? pass;
  router.use('/v1/agents', express.json({ limit: '8kb' }));

  if (options.agents !== undefined) {
    const configured = options.agents;
    router.get('/v1/agents', role('viewer'), async (_req: Request, res: Response) => {
      try {
        await options.probeStore?.();
        const agents = await Promise.all(
          configured().map(async (agent) => ({
            id: agent.id,
            roles: agent.roles,
            ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
            configDisabled: agent.disabled === true,
            disabled: agent.disabled === true || (await revocation.isAgentDisabled(agent.id)),
          })),
        );
        res.json({ agents });
      } catch (error) {
        sendError(res, error);
      }
    });
  }

  for (const action of ['disable', 'enable'] as const) {
    router.post(`/v1/agents/:id/${action}`, role('admin'), async (req: Request, res: Response) => {
      const agentId = req.params['id'];
      if (typeof agentId !== 'string' || !AGENT_ID.test(agentId)) {
        sendCode(res, 'INVALID_REQUEST', 'invalid agent id');
        return;
      }
      const body = BodySchema.safeParse(req.body ?? {});
      if (!body.success) {
        sendCode(res, 'INVALID_REQUEST', 'body may only carry a reason (string)');
        return;
      }
      try {
        if (action === 'disable') await revocation.disableAgent(agentId);
        else await revocation.enableAgent(agentId);
      } catch (error) {
        sendError(
          res,
          new GatewayError('STORE_UNAVAILABLE', 'the change could not be recorded; nothing changed', undefined, {
            cause: error,
          }),
        );
        return;
      }
      const actor = options.actor?.(req, res);
      try {
        await audit?.append({
          event: 'agent.disable',
          decision: action === 'disable' ? 'deny' : 'allow',
          agentId,
          ...(actor !== undefined ? { actor } : {}),
          ...(body.data.reason !== undefined ? { reason: body.data.reason } : {}),
          detail: { action },
        });
      } catch (error) {
        sendError(
          res,
          new GatewayError('AUDIT_UNAVAILABLE', `agent ${action}d but the audit record failed`, undefined, {
            cause: error,
          }),
        );
        return;
      }
      res.json({ agentId, disabled: action === 'disable' });
    });
  }

  router.use('/v1/agents', errorMiddleware());
  return router;
}
