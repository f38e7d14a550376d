/**
 * The task machinery from the configuration: the task service (the tasks API) and the MCP sessions'
 * tasks (implicit ones, with their expiry cache), over one store. Ending a task, either way, ends what
 * hangs off it (its approval grants); forgetting one drops its cached call credentials. A task that
 * outlives a connection keeps its span (telemetry's `openTaskTrace`; nothing while tracing is off).
 */
import type { GatewayConfig } from '../../config/index.js';
import type { GrantStore } from '../approvals/index.js';
import type { AuditSink } from '../audit/index.js';
import type { CredentialIssuer } from '../credentials/index.js';
import { openTaskTrace } from '../telemetry/index.js';
import type { RevocationStore } from '../revocation/index.js';
import { createSessionTasks, type SessionTasks } from './session-tasks.js';
import { createTaskService, type TaskService } from './task-service.js';
import type { TaskStore } from './types.js';

export function openTasks(
  config: Pick<GatewayConfig, 'tasks' | 'limits' | 'approvals'>,
  deps: {
    tasks: TaskStore;
    revocation: RevocationStore;
    issuer: CredentialIssuer;
    audit: AuditSink;
    /** Ending a task ends its approval grants. */
    grants: Pick<GrantStore, 'endTask'>;
  },
): { sessionTasks: SessionTasks; taskService: TaskService } {
  const sessionTasks = createSessionTasks({
    store: deps.tasks,
    implicitTtlSeconds: config.limits.sessionTaskTtlSeconds,
    requestTaskIdleSeconds: requestTaskIdleSeconds(config),
    maxRequestTasksPerAgent: config.limits.maxRequestTasksPerAgent,
    onForget: (id) => deps.issuer.forgetTask(id),
    onImplicitTaskEnded: (id) => deps.grants.endTask(id),
    openTrace: openTaskTrace,
  });
  const taskService = createTaskService({
    store: deps.tasks,
    revocation: deps.revocation,
    issuer: deps.issuer,
    audit: deps.audit,
    ...config.tasks,
    onEnded: (id) => deps.grants.endTask(id),
    openTrace: openTaskTrace,
  });
  return { sessionTasks, taskService };
}

/**
 * How long a 2026-07-28 request's implicit task lives past its last request: `limits.requestTaskIdleSeconds`,
 * and never less than an approval can take to be decided and then used (`approvals.pendingTtlSeconds` plus
 * `approvals.maxGrantSeconds`), so an agent that comes back with the approved call still finds its task.
 */
export function requestTaskIdleSeconds(config: Pick<GatewayConfig, 'limits' | 'approvals'>): number {
  const approval = config.approvals.pendingTtlSeconds + config.approvals.maxGrantSeconds;
  return Math.min(Math.max(config.limits.requestTaskIdleSeconds, approval), config.limits.sessionTaskTtlSeconds);
}
