/**
 * Which span a task's calls are children of, as the MCP edges decide it (one trace per task):
 * - a task that keeps its span (`trace`: opened through the tasks API, or by a 2026-07-28 request) parents
 *   the calls of every session and request that works under it, on every instance;
 * - any other task is a 2025 session's own, whose span starts and ends with the session.
 * The trace is not a policy fact: it is taken off the task before the task reaches the pipeline.
 */
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import type { TaskFacts } from '../../../policies/types.js';
import type { SessionTask } from '../../services/tasks/index.js';
import { startTaskSpan, taskTraceContext } from '../../services/telemetry/index.js';

/** The task's facts, and the span it keeps, apart. */
export function splitTaskTrace(task: SessionTask): { facts: TaskFacts; trace?: string } {
  const { trace, ...facts } = task;
  return trace !== undefined ? { facts, trace } : { facts };
}

export interface SessionTaskTrace {
  facts: TaskFacts;
  /** What the session's calls are parented on. */
  traceContext: Context;
  /** Ends the session's own task span; nothing for a task that keeps its span. */
  end(reason: string): void;
}

/**
 * A session's task and its calls' parent: the task's kept span, else a task span of the session's own,
 * parented on `parent` (the trace the agent sent when it opened the session).
 */
export function sessionTaskTrace(task: SessionTask, agentId: string, parent: Context = ROOT_CONTEXT): SessionTaskTrace {
  const { facts, trace } = splitTaskTrace(task);
  const kept = trace !== undefined ? taskTraceContext(trace) : undefined;
  if (kept !== undefined) return { facts, traceContext: kept, end: () => undefined };
  const span = startTaskSpan(
    { id: facts.id, agentId, ...(facts.intent !== undefined ? { intent: facts.intent } : {}) },
    parent,
  );
  return { facts, traceContext: span.context, end: (reason) => span.end(reason) };
}
