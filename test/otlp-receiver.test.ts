import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './fixtures/otlp-receiver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const telemetryDir = path.join(root, 'gateway/services/telemetry');

describe('OTLP receiver fixture', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('receives and flattens spans from a real BasicTracerProvider + BatchSpanProcessor + OTLP/HTTP exporter', async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'receiver-test' }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }))],
    });
    const tracer = provider.getTracer('fixture-test', '1.2.3');
    const parent = tracer.startSpan('parent op', { kind: SpanKind.SERVER });
    const child = tracer.startSpan(
      'child op',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'a.string': 'x', 'a.int': 42, 'a.double': 1.5, 'a.bool': true, 'a.list': ['p', 'q'] },
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent('retry', { attempt: 2 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'UPSTREAM_TIMEOUT' });
    child.end();
    parent.end();
    await provider.shutdown();

    const spans = await receiver.waitForSpans(
      (all) => all.some((s) => s.name === 'child op') && all.some((s) => s.name === 'parent op'),
    );
    const p = spans.find((s) => s.name === 'parent op')!;
    const c = spans.find((s) => s.name === 'child op')!;
    assert.match(p.traceId, /^[0-9a-f]{32}$/);
    assert.match(p.spanId, /^[0-9a-f]{16}$/);
    assert.equal(p.parentSpanId, undefined);
    assert.equal(p.kind, 2);
    assert.equal(c.traceId, p.traceId);
    assert.equal(c.parentSpanId, p.spanId);
    assert.equal(c.kind, 3);
    assert.deepEqual(c.attributes, {
      'a.string': 'x',
      'a.int': 42,
      'a.double': 1.5,
      'a.bool': true,
      'a.list': ['p', 'q'],
    });
    assert.deepEqual(c.status, { code: 2, message: 'UPSTREAM_TIMEOUT' });
    assert.equal(c.events.length, 1);
    assert.equal(c.events[0]!.name, 'retry');
    assert.deepEqual(c.events[0]!.attributes, { attempt: 2 });
    assert.equal(c.resource['service.name'], 'receiver-test');
    assert.deepEqual(c.scope, { name: 'fixture-test', version: '1.2.3' });
    assert.ok(BigInt(c.endTimeUnixNano) >= BigInt(c.startTimeUnixNano));
    // What exporter-trace-otlp-http actually sends.
    assert.ok(receiver.requests().length > 0);
    assert.ok(receiver.requests().every((r) => r.contentType === 'application/json' && r.status === 200));
  });

  it('answers protobuf with 415 and unknown paths with 404, and records nothing from them', async () => {
    const before = receiver.spans().length;
    const proto = await fetch(`${receiver.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0x00]),
    });
    assert.equal(proto.status, 415);
    const other = await fetch(`${receiver.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(other.status, 404);
    const bad = await fetch(`${receiver.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'not json',
    });
    assert.equal(bad.status, 400);
    assert.equal(receiver.spans().length, before);
  });

  it('waitForSpans rejects when the spans never come', async () => {
    await assert.rejects(
      receiver.waitForSpans((all) => all.some((s) => s.name === 'never'), 50),
      /spans not received/,
    );
  });
});

/** Run a script in a child with a clean OTEL_* environment plus `extraEnv`; resolves with its stdout. */
function runChild(script: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('OTEL_') && value !== undefined) env[key] = value;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`child exited ${code}: ${stderr}`)),
    );
  });
}

describe('startTelemetry (NodeSDK) exporting to the receiver', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  const agentTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const agentSpanId = '00f067aa0ba902b7';

  it('exports the intent-chain spans, joined to the agent trace, with redacted attributes', async () => {
    const script = `
      import { startTelemetry } from ${JSON.stringify(path.join(telemetryDir, 'sdk.ts'))};
      import * as t from ${JSON.stringify(path.join(telemetryDir, 'index.ts'))};
      import { SpanKind } from '@opentelemetry/api';
      const telemetry = startTelemetry({ serviceName: 'portcullis-test', otlpEndpoint: ${JSON.stringify(receiver.url)}, sampleRatio: 1, env: {} });
      const parent = t.extractTraceparentFromMeta({ traceparent: '00-${agentTraceId}-${agentSpanId}-01', progressToken: 7 });
      const carrier = {};
      let traceId;
      await t.withSpan(t.spanNames.task('triage inbox'), { [t.ATTR_PORTCULLIS_TASK_ID]: 'task-1', [t.ATTR_PORTCULLIS_TASK_INTENT]: 'triage inbox' }, async () => {
        await t.withSpan(t.spanNames.toolCall('crm_get'), {
          [t.ATTR_MCP_METHOD_NAME]: 'tools/call',
          [t.ATTR_GEN_AI_TOOL_NAME]: 'crm_get',
          [t.ATTR_GEN_AI_OPERATION_NAME]: t.GEN_AI_OPERATION_EXECUTE_TOOL,
          [t.ATTR_PORTCULLIS_RULES]: ['read-only', 'business-hours'],
          [t.ATTR_PORTCULLIS_CREDENTIAL_JTI]: 'jti-123',
          'http.request.header.authorization': 'Bearer agent-secret-token',
          'portcullis.note': 'Bearer another-secret',
        }, async () => {
          t.injectTraceparent(carrier);
          traceId = t.currentTraceId();
          await t.withSpan(t.spanNames.backend, {}, async () => {
            throw Object.assign(new Error('backend said: password=hunter2'), { code: 'UPSTREAM_TIMEOUT' });
          }).catch(() => undefined);
        }, { kind: SpanKind.SERVER });
      }, { parent });
      await telemetry.shutdown();
      process.stdout.write(JSON.stringify({ carrier, traceId }));
    `;
    const out = JSON.parse(await runChild(script)) as { carrier: Record<string, string>; traceId: string };
    const spans = await receiver.waitForSpans((all) => all.filter((s) => s.traceId === agentTraceId).length >= 3);
    const ours = spans.filter((s) => s.traceId === agentTraceId);
    const byName = (name: string): ReceivedSpan => {
      const span = ours.find((s) => s.name === name);
      assert.ok(span, `span ${name} received`);
      return span;
    };
    const task = byName('task triage inbox');
    const call = byName('tools/call crm_get');
    const backend = byName('backend.request');

    assert.equal(task.parentSpanId, agentSpanId, 'the task span joins the agent trace');
    assert.equal(call.parentSpanId, task.spanId);
    assert.equal(backend.parentSpanId, call.spanId);
    assert.equal(out.traceId, agentTraceId);
    assert.equal(out.carrier['traceparent'], `00-${agentTraceId}-${call.spanId}-01`);

    assert.equal(call.kind, 2, 'OTLP SPAN_KIND_SERVER');
    assert.equal(call.attributes['mcp.method.name'], 'tools/call');
    assert.equal(call.attributes['gen_ai.tool.name'], 'crm_get');
    assert.equal(call.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.deepEqual(call.attributes['portcullis.rules'], ['read-only', 'business-hours']);
    assert.equal(call.attributes['portcullis.credential.jti'], 'jti-123');
    assert.equal(call.attributes['http.request.header.authorization'], '[redacted]');
    assert.equal(call.attributes['portcullis.note'], '[redacted]');
    assert.equal(task.attributes['portcullis.task.intent'], 'triage inbox');

    assert.deepEqual(backend.status, { code: 2, message: 'UPSTREAM_TIMEOUT' });
    assert.equal(backend.attributes['error.type'], 'UPSTREAM_TIMEOUT');
    const wire = JSON.stringify(ours);
    assert.doesNotMatch(wire, /agent-secret-token|another-secret|hunter2/);

    assert.equal(call.resource['service.name'], 'portcullis-test');
    assert.equal(call.scope.name, 'portcullis');
  });

  it('honours OTEL_* environment over config and samples by ratio, following a sampled parent', async () => {
    const before = receiver.requests().length;
    const script = `
      import { startTelemetry } from ${JSON.stringify(path.join(telemetryDir, 'sdk.ts'))};
      import * as t from ${JSON.stringify(path.join(telemetryDir, 'index.ts'))};
      const telemetry = startTelemetry({ serviceName: 'from-config', otlpEndpoint: 'http://127.0.0.1:9/unused', sampleRatio: 0 });
      await t.withSpan('unsampled root', {}, async () => undefined);
      const parent = t.extractTraceparentFromMeta({ traceparent: '00-${agentTraceId}-${agentSpanId}-01' });
      await t.withSpan('sampled by parent', {}, async () => undefined, { parent });
      await telemetry.shutdown();
      process.stdout.write('done');
    `;
    assert.equal(
      await runChild(script, {
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      }),
      'done',
    );
    // The child flushed on shutdown before exiting, so everything it exported has arrived.
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === 'sampled by parent'));
    const sampled = spans.find((s) => s.name === 'sampled by parent')!;
    assert.equal(sampled.resource['service.name'], 'from-env');
    assert.equal(sampled.parentSpanId, agentSpanId);
    assert.equal(
      spans.some((s) => s.name === 'unsampled root'),
      false,
      'sampleRatio 0 drops new root traces',
    );
    const newRequests = receiver.requests().slice(before);
    assert.ok(newRequests.length > 0);
    assert.ok(newRequests.every((r) => r.contentEncoding === 'gzip' && r.status === 200));
  });
});
