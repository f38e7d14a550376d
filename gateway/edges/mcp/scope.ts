/**
 * The scope an MCP request runs in: who asks, under which task, what it hears. A 2025 session is one scope
 * for all its requests (`sessionScope`); a 2026-07-28 request is a scope of its own.
 */
import type { Context } from '@opentelemetry/api';
import type { TaskFacts } from '../../../policies/types.js';
import type { Principal } from '../../kernel/index.js';
import type { McpConnection } from '../../pipeline/index.js';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency';

/** Who is asking, and what their requests run under: a 2025 session, or one 2026-07-28 request. */
export interface AgentScope {
  principal: Principal;
  /** The task calls run under (resolved lazily for modern requests: listings need none). */
  task(): Promise<TaskFacts>;
  /**
   * True when `task()` reads the task from the store for this request and refuses one that has ended, or
   * creates it (a 2026-07-28 request's scope): its call need not read it again. A 2025 session's task was
   * read when the session opened, so its calls read it each time.
   */
  taskReadPerRequest?: boolean;
  sessionId?: string;
  /** Log messages at or above this level reach the agent; none when undefined. */
  logLevel(): LogLevel | undefined;
  /** 2025 sessions: `logging/setLevel`. */
  setLogLevel?(level: LogLevel): void;
  /** 2025 sessions: resource URIs the session subscribed to. */
  subscriptions?: Set<string>;
  connection: McpConnection;
  /** Trace context calls become children of: a 2025 session's task span, known when the session opens. */
  traceContext?: Context;
  /**
   * A 2026-07-28 request's: its task's span, known once its task is (the request's own trace when the task
   * keeps none, tracing being off).
   */
  traceContextOfTask?(): Promise<Context | undefined>;
  /** Propagation fields the edge read from HTTP headers (`traceparent`), used when `_meta` carries none. */
  headerTrace?: Record<string, string>;
}
