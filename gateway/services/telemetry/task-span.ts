/**
 * One trace per task: a task's `task {intent}` span is started when the task opens (explicitly, or with
 * the MCP session for an implicit task) and ended when it ends. Tool calls of the task are its children.
 * The span is parented on the trace context of the request that opened the task, when it carried one.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import * as attr from './attributes.js';
import { getTracer } from './spans.js';

export interface TaskSpan {
  /** Context whose active span is the task span: pass it as the parent of the task's calls. */
  context: Context;
  end(reason?: string): void;
}

export function startTaskSpan(
  task: { id: string; agentId: string; intent?: string },
  parent: Context = ROOT_CONTEXT,
): TaskSpan {
  const span: Span = getTracer().startSpan(
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
