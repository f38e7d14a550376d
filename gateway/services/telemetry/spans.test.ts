import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { currentTraceId, extractTraceparentFromMeta, injectTraceparent, traceHeaders, withSpan } from './spans.js';

// No SDK is registered here: these are the guarantees the pipeline relies on when telemetry is off.
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context helpers', () => {
  it('round-trips a traceparent from _meta to an outbound carrier', () => {
    const ctx = extractTraceparentFromMeta({ traceparent, tracestate: 'vendor=1', progressToken: 3 }, ROOT_CONTEXT);
    assert.equal(currentTraceId(ctx), '4bf92f3577b34da6a3ce929d0e0e4736');
    const carrier = injectTraceparent({} as Record<string, string>, ctx);
    assert.deepEqual(carrier, { traceparent, tracestate: 'vendor=1' });
  });

  it('reads the trace context headers of a request, trimmed, and leaves out repeated or absent ones', () => {
    assert.deepEqual(traceHeaders({ traceparent: ` ${traceparent} `, tracestate: 'vendor=1', host: 'x' }), {
      traceparent,
      tracestate: 'vendor=1',
    });
    assert.deepEqual(traceHeaders({ traceparent: [traceparent, traceparent] }), {});
    assert.deepEqual(traceHeaders({}), {});
    assert.equal(
      currentTraceId(extractTraceparentFromMeta(traceHeaders({ traceparent: `${traceparent}\t` }), ROOT_CONTEXT)),
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it('ignores absent, malformed or non-string trace fields', () => {
    for (const meta of [
      undefined,
      null,
      'x',
      [],
      {},
      { traceparent: 'garbage' },
      { traceparent: 42 },
      { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
    ]) {
      const ctx = extractTraceparentFromMeta(meta, ROOT_CONTEXT);
      assert.equal(trace.getSpanContext(ctx), undefined, JSON.stringify(meta));
      assert.deepEqual(injectTraceparent({} as Record<string, string>, ctx), {});
    }
  });

  it('withSpan returns the result, rethrows errors, and keeps a remote parent without an SDK', async () => {
    const parent = extractTraceparentFromMeta({ traceparent }, ROOT_CONTEXT);
    const seen = await withSpan('t', { a: 1 }, (span) => span.spanContext().traceId, { parent });
    assert.equal(seen, '4bf92f3577b34da6a3ce929d0e0e4736');
    const failure = Object.assign(new Error('boom'), { code: 'UPSTREAM_ERROR' });
    await assert.rejects(
      withSpan('t', {}, async () => {
        throw failure;
      }),
      (error: unknown) => error === failure,
    );
  });
});
