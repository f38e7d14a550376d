/**
 * Write-ahead audit: a call's decision record is durable before the backend is contacted. When the audit
 * log cannot be written, the call is refused with AUDIT_UNAVAILABLE and nothing reaches the backend,
 * whatever the flush setting. When only the outcome record fails, the result is withheld where records are
 * flushed before the response. The sinks below fail the way a full or broken disk makes the JSONL sink fail
 * (appends reject); everything else is real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttpConnector } from '../connectors/http/index.js';
import { reportingAuditSink, type AuditRecordInput, type AuditSink } from '../gateway/services/audit/index.js';
import { createCatalog } from '../gateway/services/catalog/catalog.js';
import { createPipeline, type EgressProvider } from '../gateway/pipeline/index.js';
import { createMetrics } from '../gateway/services/metrics/index.js';
import { compilePolicy } from '../policies/index.js';
import { startHttpBackend, TEXT_TOOL } from './fixtures/http-backend.js';

const diskFull = () =>
  Promise.reject(Object.assign(new Error('no space left on device'), { code: 'AUDIT_WRITE_FAILED' }));

/** Every append fails. */
const failingAudit: AuditSink = { append: diskFull, flush: async () => {}, close: async () => {} };

/** Appends of these events fail; the others are kept. */
function auditFailingOn(events: readonly string[]) {
  const written: AuditRecordInput[] = [];
  const sink: AuditSink = {
    append: async (record) => {
      if (events.includes(record.event)) return diskFull();
      written.push(record);
    },
    flush: async () => {},
    close: async () => {},
  };
  return { sink, written };
}

describe('pipeline record step', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;

  before(async () => {
    backend = await startHttpBackend();
  });
  after(async () => {
    await backend?.close();
  });

  async function pipelineWith(flushAuditBeforeResponse: boolean, audit: AuditSink = failingAudit) {
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: backend.url,
      tools: [TEXT_TOOL],
    });
    const egress: EgressProvider = { fetchFor: () => (input, init) => fetch(input, init) };
    const catalog = createCatalog({
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
    const engine = compilePolicy([], { extraRules: [{ id: 'allow-text', effect: 'allow', tools: ['api_text'] }] });
    return createPipeline({
      catalog,
      policy: { current: () => engine },
      egress,
      audit,
      flushAuditBeforeResponse,
      callTimeoutMs: 5000,
    });
  }

  const ctx = {
    principal: { agentId: 'a', roles: [], authMethod: 'api-key' as const },
    task: { id: 't' },
    signal: new AbortController().signal,
    meta: {},
  };

  for (const flush of [true, false]) {
    it(`refuses the call and sends nothing when the decision record cannot be written (flush ${flush})`, async () => {
      const before = backend.requests.length;
      const result = await (await pipelineWith(flush)).callTool('api_text', {}, ctx);
      assert.equal(result.isError, true);
      assert.equal(result._meta?.['portcullis/code'], 'AUDIT_UNAVAILABLE');
      assert.doesNotMatch(JSON.stringify(result), /no space left/, 'the error names no internals');
      assert.equal(backend.requests.length, before, 'nothing reached the backend');
    });
  }

  it('withholds the result when the outcome record cannot be written before the response', async () => {
    const audit = auditFailingOn(['tool.call']);
    const before = backend.requests.length;
    const result = await (await pipelineWith(true, audit.sink)).callTool('api_text', {}, ctx);
    assert.equal(result._meta?.['portcullis/code'], 'AUDIT_UNAVAILABLE');
    assert.equal(backend.requests.length, before + 1, 'the call was made after its decision was recorded');
    assert.deepEqual(
      audit.written.map((r) => [r.event, r.decision, r.tool]),
      [['call.intent', 'allow', 'api_text']],
    );
  });

  it('answers, and counts the lost record, when records are not flushed before the response', async () => {
    const audit = auditFailingOn(['tool.call']);
    const metrics = createMetrics();
    const reported = reportingAuditSink(audit.sink, { onFailure: (event) => metrics.auditWriteFailed(event) });
    const result = await (await pipelineWith(false, reported)).callTool('api_text', {}, ctx);
    assert.notEqual(result.isError, true, JSON.stringify(result));
    // The outcome write is not awaited here: wait for its failure to be counted.
    let text = '';
    for (let i = 0; i < 50 && !/audit_write_failures_total\{event="tool.call"\} 1/.test(text); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      text = await metrics.registry.metrics();
    }
    assert.match(text, /audit_write_failures_total\{event="tool.call"\} 1/);
  });
});
