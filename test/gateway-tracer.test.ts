/**
 * The gateway's tracer follows the provider registered at the time a span starts: none (spans are no-ops),
 * then one SDK, then, after `trace.disable()`, another. Its own file: it registers global providers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { getTracer, withSpan } from '../gateway/services/telemetry/spans.js';

function register(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  return exporter;
}

describe('gateway tracer', () => {
  it('starts spans with the provider registered now, however often it was asked for before', async () => {
    try {
      await withSpan('unrecorded', {}, (span) => assert.equal(span.isRecording(), false));
      const first = register();
      await withSpan('first', {}, () => undefined);
      assert.equal(getTracer(), getTracer());
      trace.disable();
      const second = register();
      await withSpan('second', {}, () => undefined);
      getTracer().startSpan('direct').end();
      assert.deepEqual(
        first.getFinishedSpans().map((span) => span.name),
        ['first'],
      );
      assert.deepEqual(
        second.getFinishedSpans().map((span) => span.name),
        ['second', 'direct'],
      );
    } finally {
      trace.disable();
    }
  });
});
