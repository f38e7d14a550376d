/**
 * An agent's MCP session: bound at creation to the principal that opened it and to one task (explicit via a
 * task token, or implicit: one task per session). Every later request on the session must come from the
 * same principal, otherwise the session does not exist for it.
 */
import type { Context } from '@opentelemetry/api';
import type { Server, Transport } from '@modelcontextprotocol/server';
import type { TaskFacts } from '../../../policies/types.js';
import type { Principal } from '../../kernel/index.js';
import type { McpConnection } from '../../pipeline/index.js';
import type { AgentScope, LogLevel } from './scope.js';
import type { SessionRequests } from './session-requests.js';

export type { LogLevel } from './scope.js';

export interface McpSession {
  id: string;
  principal: Principal;
  task: TaskFacts;
  /** MCP protocol version settled by `initialize` (Streamable HTTP sessions); version rules follow it. */
  protocolVersion?: string;
  logLevel: LogLevel;
  subscriptions: Set<string>;
  server?: Server;
  transport?: Transport;
  /** Single requests served without the SDK's web exchange (`auto` response mode; session-requests.ts). */
  requests?: SessionRequests;
  lastActivity: number;
  /** Transport facts and, once initialized, the negotiated protocol version (spans and metrics). */
  connection: McpConnection;
  /** performance.now() when the session opened, for `mcp.server.session.duration`. */
  openedAt: number;
  /** Trace context of the session's task span (calls are its children). */
  traceContext?: Context;
  /** Ends the implicit task's span when the session closes. */
  endTask?: (reason: string) => void;
}

/**
 * The exact principal a session is bound to: same kind of credential, same agent, same task (an explicit
 * task token's, or none, in which case the session's implicit task applies), same tenant, and the same
 * issuer and subject (OAuth, SPIFFE, task tokens). Anything else is another principal, for which the
 * session does not exist.
 */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return (
    a.authMethod === b.authMethod &&
    a.agentId === b.agentId &&
    a.taskId === b.taskId &&
    a.tenant === b.tenant &&
    a.issuer === b.issuer &&
    a.subject === b.subject
  );
}

/**
 * A 2025 session as the scope its requests run in: principal, task and log level live on the session.
 * Calls name the session in audit and spans when it has a wire id (`Mcp-Session-Id`; stdio has none).
 */
export function sessionScope(session: McpSession, wireId: boolean): AgentScope {
  return {
    get principal() {
      return session.principal;
    },
    task: async () => session.task,
    ...(wireId ? { sessionId: session.id } : {}),
    logLevel: () => session.logLevel,
    setLogLevel: (level) => (session.logLevel = level),
    subscriptions: session.subscriptions,
    get connection() {
      return session.connection;
    },
    ...(session.traceContext !== undefined ? { traceContext: session.traceContext } : {}),
  };
}
