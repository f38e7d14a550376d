/**
 * The stdio front door's session: the configured agent (or the only one) on one MCP session over
 * stdin/stdout, under the session's task, with the same pipeline and metrics as the HTTP edge.
 */
import type { GatewayConfig } from '../../config/index.js';
import { VERSION, type Drain } from '../../kernel/index.js';
import type { EgressProvider, Pipeline } from '../../pipeline/index.js';
import type { ApiKeyAgent } from '../../services/auth/index.js';
import { preloadEgressClient } from '../../services/egress/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import type { SessionTasks } from '../../services/tasks/index.js';
import { connectionMetricAttributes, principalForStdio, serveStdio } from '../mcp/index.js';

export interface StdioServerParts {
  config: GatewayConfig;
  pipeline: Pipeline;
  /** Shutdown: calls still running when the drain time is over are cancelled through it. */
  drain?: Drain;
  egress: EgressProvider;
  resourceUpdates: { subscribe(listener: (uri: string) => void): () => void };
  metrics: Metrics;
  sessionTasks: SessionTasks;
  apiKeyAgents: readonly ApiKeyAgent[];
  revocation: Pick<RevocationStore, 'isAgentDisabled'>;
}

export async function serveStdioSession(
  parts: StdioServerParts,
  agentId: string | undefined,
): Promise<{ close(): Promise<void> }> {
  const principal = await principalForStdio(parts.apiKeyAgents, agentId, parts.revocation);
  const served = await serveStdio({
    pipeline: parts.pipeline,
    ...(parts.drain !== undefined ? { drain: parts.drain } : {}),
    egress: parts.egress,
    resourceUpdates: parts.resourceUpdates,
    principal,
    taskForSession: parts.sessionTasks.taskForSession,
    serverInfo: { name: 'portcullis', version: VERSION },
    elevationTool: parts.config.approvals.offerRequestTool,
    operationMetrics: parts.metrics,
    onSessionClosed: (session) =>
      parts.metrics.observeMcpSession(
        connectionMetricAttributes(session.connection),
        (performance.now() - session.openedAt) / 1000,
      ),
  });
  // The session serves: the backends' HTTP client, left out of the start, is loaded right after.
  setImmediate(preloadEgressClient);
  return served;
}
