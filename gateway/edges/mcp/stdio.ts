/**
 * The stdio front door: a desktop MCP client launches the gateway as a child process and speaks MCP on
 * its stdin/stdout. There is no network peer to authenticate: the local user who can launch the gateway
 * with this configuration acts as the given principal, for one session under one task.
 */
import { randomUUID } from 'node:crypto';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { Principal } from '../../kernel/index.js';
import type { ApiKeyAgent } from '../../services/auth/index.js';
import type { RevocationStore } from '../../services/revocation/index.js';
import type { SessionTask } from '../../services/tasks/index.js';
import { timeOperations, type McpOperationMetrics } from './operation-metrics.js';
import { watchProtocolVersion } from './protocol-version.js';
import { createGatewayMcpServer, type McpServerDeps } from './server.js';
import { sessionScope, type McpSession } from './session.js';
import { sessionTaskTrace } from './task-trace.js';

export interface StdioSessionOptions extends McpServerDeps {
  principal: Principal;
  taskForSession: (principal: Principal, sessionId: string) => Promise<SessionTask>;
  /** Called once when the session ends (stdin closed or the gateway stops). */
  onSessionClosed?: (session: McpSession) => void;
  /** Receives `mcp.server.operation.duration` for every request on the session. */
  operationMetrics?: McpOperationMetrics;
}

/**
 * The principal a stdio session acts as: the named agent, or the only configured one. Disabled agents
 * (configuration or kill switch) cannot be used.
 */
export async function principalForStdio(
  agents: readonly ApiKeyAgent[],
  agentId: string | undefined,
  revocation: Pick<RevocationStore, 'isAgentDisabled'>,
): Promise<Principal> {
  const agent =
    agentId !== undefined ? agents.find((a) => a.agentId === agentId) : agents.length === 1 ? agents[0] : undefined;
  if (agent === undefined) {
    throw new Error(
      agentId !== undefined
        ? `unknown or disabled agent "${agentId}"`
        : 'several agents are configured: pass --agent ID',
    );
  }
  if (await revocation.isAgentDisabled(agent.agentId)) throw new Error(`agent "${agent.agentId}" is disabled`);
  return {
    agentId: agent.agentId,
    roles: agent.roles,
    ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
    ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
    authMethod: 'stdio',
  };
}

export async function serveStdio(options: StdioSessionOptions): Promise<{ close(): Promise<void> }> {
  const { principal, taskForSession, onSessionClosed, operationMetrics, ...deps } = options;
  const sessionId = randomUUID();
  const taskTrace = sessionTaskTrace(await taskForSession(principal, sessionId), principal.agentId);
  const session: McpSession = {
    id: sessionId,
    principal,
    task: taskTrace.facts,
    logLevel: 'info',
    subscriptions: new Set(),
    lastActivity: Date.now(),
    connection: { transport: 'pipe' },
    openedAt: performance.now(),
    traceContext: taskTrace.traceContext,
  };
  const server = createGatewayMcpServer(sessionScope(session, false), deps);
  const transport = new StdioServerTransport();
  watchProtocolVersion(transport, (version) => (session.connection.protocolVersion = version));
  if (operationMetrics !== undefined) timeOperations(transport, session.connection, operationMetrics);
  let closed = false;
  const ended = (): void => {
    if (closed) return;
    closed = true;
    onSessionClosed?.(session);
  };
  transport.onclose = ended;
  session.server = server;
  session.transport = transport;
  try {
    await server.connect(transport);
  } catch (error) {
    taskTrace.end('stdio failed');
    throw error;
  }
  return {
    async close() {
      await server.close().catch(() => undefined);
      ended();
      taskTrace.end('stdio closed');
    },
  };
}
