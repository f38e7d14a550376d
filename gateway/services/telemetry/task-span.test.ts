import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { extractTraceparentFromMeta } from './spans.js';
import { openTaskTrace, taskTraceContext } from './task-span.js';

// No SDK is registered here: with tracing off, a task keeps no span (the SDK's side is covered end to end
// in test/tracing-tasks.test.ts).
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const task = { id: 't1', agentId: 'a1', intent: 'x' };

describe('task traces', () => {
  it('keeps no span for a task while tracing is off, even inside a trace the opener sent', () => {
    assert.equal(openTaskTrace(task), undefined);
    const parent = extractTraceparentFromMeta({ traceparent }, ROOT_CONTEXT);
    assert.equal(openTaskTrace(task, parent), undefined, "the opener's span is not the task's");
  });

  it('parents on a kept traceparent, and refuses what is not one', () => {
    const context = taskTraceContext(traceparent);
    assert.ok(context !== undefined);
    assert.deepEqual(
      { ...trace.getSpanContext(context) },
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true },
    );
    assert.equal(taskTraceContext(traceparent), context, 'a task used again parses nothing again');
    for (const bad of ['', 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01']) {
      assert.equal(taskTraceContext(bad), undefined, bad);
      assert.equal(taskTraceContext(bad), undefined, `${bad}, asked again`);
    }
  });
});
