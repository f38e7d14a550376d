/**
 * The operator API and console as mounted on the gateway's HTTP server: approvals (approver role),
 * tool pins, agents (viewer to list, admin to change), credential revocation (admin), tasks (viewer to
 * list, approver to end), recent audit records and health (viewer), and the console's static files.
 */
import type { Router } from 'express';
import type { GatewayConfig } from '../../config/index.js';
import {
  isOwner,
  traceLink,
  type ApprovalQueue,
  type GrantStore,
  type LostApproval,
} from '../../services/approvals/index.js';
import type { AuditSink, RecentAudit } from '../../services/audit/index.js';
import type { Catalog } from '../../services/catalog/index.js';
import type { CredentialIssuer } from '../../services/credentials/index.js';
import type { ToolIntegrity } from '../../services/integrity/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import type { PolicyStore } from '../../services/policy/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import { isTaskLive, type TaskService, type TaskStore } from '../../services/tasks/index.js';
import { VERSION } from '../../kernel/index.js';
import { createAgentsRouter } from './agents-router.js';
import { createApprovalsRouter } from './approvals-router.js';
import { createAuditRouter } from './audit-router.js';
import { createHealthRouter } from './health-router.js';
import { createOperatorTasksRouter } from './operator-tasks-router.js';
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
  /** The records this instance wrote lately (console: recent decisions, audit sink health). */
  recentAudit: RecentAudit;
  tasks: TaskStore;
  taskService: TaskService;
  policy: Pick<PolicyStore, 'status'>;
  /** Shared state: its kind, and a probe that throws StoreUnavailableError when it cannot answer. */
  stores: { kind: 'memory' | 'redis'; probe: () => Promise<void> };
  /** Approval requests lost with the state store's data (listed with status `lost`). */
  lostApprovals?: () => Promise<readonly LostApproval[]>;
  onInternalError?: (error: unknown) => void;
}

export function createOperatorRouters(options: OperatorRoutersOptions): Router[] {
  const { config, operatorAuth, audit } = options;
  const agentsRouter = createAgentsRouter(options.revocation, audit, {
    actor: (_req, res) => (res.locals['operator'] as { id?: string } | undefined)?.id,
    operatorAuth,
    agents: () => config.agents,
    probeStore: options.stores.probe,
  });
  const jaeger = config.telemetry.jaegerUiUrl;
  return [
    createApprovalsRouter({
      queue: options.queue,
      grants: options.grants,
      audit,
      operatorAuth,
      isSelf: (operatorId, ticket) => isOwner(config, operatorId, ticket),
      ...(options.lostApprovals !== undefined ? { lostApprovals: options.lostApprovals } : {}),
      isTaskLive: async (taskId) => isTaskLive(await options.tasks.get(taskId), Date.now()),
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
    createOperatorTasksRouter({ tasks: options.tasks, taskService: options.taskService, operatorAuth }),
    createAuditRouter({
      recent: options.recentAudit,
      operatorAuth,
      ...(jaeger !== undefined ? { jaegerUiUrl: jaeger } : {}),
    }),
    createHealthRouter({
      operatorAuth,
      sources: {
        version: VERSION,
        policy: () => options.policy.status(),
        stores: options.stores,
        audit: {
          kind: config.audit.file !== undefined ? 'file' : 'memory',
          ...(config.audit.file !== undefined ? { file: config.audit.file, durability: config.audit.durability } : {}),
          recent: options.recentAudit,
        },
        catalog: options.catalog,
      },
    }),
    createConsoleRouter(),
  ];
}
