/**
 * The operator API and console as mounted on the gateway's HTTP server: approvals (approver role),
 * tool pins, agents (admin), credential revocation (admin), and the console's static files.
 */
import express, { type Router } from 'express';
import type { GatewayConfig } from '../../config/index.js';
import { isOwner, traceLink, type ApprovalQueue, type GrantStore } from '../../services/approvals/index.js';
import type { AuditSink } from '../../services/audit/index.js';
import type { Catalog } from '../../services/catalog/index.js';
import type { CredentialIssuer } from '../../services/credentials/index.js';
import type { ToolIntegrity } from '../../services/integrity/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import { createAgentsRouter } from './agents-router.js';
import { createApprovalsRouter } from './approvals-router.js';
import { createConsoleRouter } from './console-router.js';
import { credentialsRouter } from './credentials-router.js';
import type { OperatorAuthenticator } from './operator-auth.js';
import { createToolsRouter } from './tools-router.js';

export interface OperatorRoutersOptions {
  config: GatewayConfig;
  operatorAuth: OperatorAuthenticator;
  queue: ApprovalQueue;
  grants: GrantStore;
  audit: AuditSink;
  metrics: Metrics;
  integrity: ToolIntegrity;
  catalog: Catalog;
  revocation: RevocationStore;
  issuer: CredentialIssuer;
  onInternalError?: (error: unknown) => void;
}

export function createOperatorRouters(options: OperatorRoutersOptions): Router[] {
  const { config, operatorAuth, audit } = options;
  const agentsRouter = express.Router();
  agentsRouter.use('/v1/agents', operatorAuth.require('admin'));
  agentsRouter.use(
    createAgentsRouter(options.revocation, audit, {
      actor: (_req, res) => (res.locals['operator'] as { id?: string } | undefined)?.id,
    }),
  );
  return [
    createApprovalsRouter({
      queue: options.queue,
      grants: options.grants,
      audit,
      operatorAuth,
      isSelf: (operatorId, ticket) => isOwner(config, operatorId, ticket),
      onDecided: (ticket) =>
        options.metrics.observeApprovalDecision(
          (Date.now() - Date.parse(ticket.createdAt)) / 1000,
          ticket.status === 'approved' ? 'approved' : 'denied',
        ),
      ...(config.telemetry.jaegerUiUrl !== undefined ? { traceUrl: traceLink(config.telemetry.jaegerUiUrl) } : {}),
      ...(options.onInternalError !== undefined ? { onInternalError: options.onInternalError } : {}),
    }),
    createToolsRouter({ integrity: options.integrity, catalog: options.catalog, operatorAuth }),
    agentsRouter,
    credentialsRouter({ revocation: options.revocation, issuer: options.issuer, audit, operatorAuth }),
    createConsoleRouter(),
  ];
}
