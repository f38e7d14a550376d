/**
 * One trace per task: a task's `task {intent}` span is its root, and tool calls of the task are its
 * children. The span is parented on the trace context of the request that opened the task, when it
 * carried one.
 *
 * Two lifetimes:
 * - A 2025 session's own task lives with the session: its span starts with the session and ends when the
 *   session closes (`startTaskSpan`), and the session carries its context.
 * - A task that outlives any one connection (opened through the tasks API, or by a 2026-07-28 request)
 *   may be used from any instance, long after it opened: its span marks the opening and ends at once
 *   (`openTaskTrace`), and the task keeps the span's `traceparent`, from which every instance parents the
 *   task's calls (`taskTraceContext`). Nothing is held in memory per task, and the root is exported at
 *   once instead of hours later or never (a crash, an instance that never sees the end).
 */
import { ROOT_CONTEXT, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import * as attr from './attributes.js';
import { extractTraceparentFromMeta, getTracer, injectTraceparent } from './spans.js';

export interface TaskSpan {
  /** Context whose active span is the task span: pass it as the parent of the task's calls. */
  context: Context;
  end(reason?: string): void;
}

export interface TaskIdentity {
  id: string;
  agentId: string;
  intent?: string;
}

function startSpanOf(task: TaskIdentity, parent: Context): Span {
  return getTracer().startSpan(
    attr.spanNames.task(task.intent),
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        [attr.ATTR_PORTCULLIS_TASK_ID]: task.id,
        [attr.ATTR_PORTCULLIS_AGENT_ID]: task.agentId,
        ...(task.intent !== undefined ? { [attr.ATTR_PORTCULLIS_TASK_INTENT]: task.intent } : {}),
      },
    },
    parent,
  );
}

/**
 * The span of a task that outlives any one connection: started and ended now, its `traceparent` returned
 * for the task to keep (sampled or not: the task's calls follow its decision). Undefined when tracing is
 * off (no span of its own was made).
 */
export function openTaskTrace(task: TaskIdentity, parent: Context = ROOT_CONTEXT): string | undefined {
  const span = startSpanOf(task, parent);
  span.end();
  const made = span.spanContext();
  const parentSpan = trace.getSpanContext(parent);
  // Without an SDK the span is a stand-in carrying the parent's context (or an invalid one): not the task's.
  if (!trace.isSpanContextValid(made) || made.spanId === parentSpan?.spanId) return undefined;
  return injectTraceparent<Record<string, string>>({}, trace.setSpan(ROOT_CONTEXT, span))['traceparent'];
}

/**
 * Contexts of recently used task traces: a busy task's calls parse the same `traceparent` on every request
 * otherwise. Contexts are immutable, so one can be shared by any number of calls.
 */
const recentTaskContexts = new LRUCache<string, Context>({ max: 1024 });

/** The context a task's calls are parented on, from the `traceparent` it keeps; undefined when invalid. */
export function taskTraceContext(traceparent: string): Context | undefined {
  const known = recentTaskContexts.get(traceparent);
  if (known !== undefined) return known;
  const context = extractTraceparentFromMeta({ traceparent }, ROOT_CONTEXT);
  if (trace.getSpanContext(context) === undefined) return undefined;
  recentTaskContexts.set(traceparent, context);
  return context;
}

export function startTaskSpan(task: TaskIdentity, parent: Context = ROOT_CONTEXT): TaskSpan {
  const span: Span = startSpanOf(task, parent);
  let ended = false;
  return {
    context: trace.setSpan(parent, span),
    end(reason) {
      if (ended) return;
      ended = true;
      if (reason !== undefined) span.setAttribute('portcullis.task.end_reason', reason);
      span.end();
    },
  };
}
