/**
 * The admit step holds a connector slot for the whole call and gives it back however the call ends:
 * completed, refused after admission (the decision record could not be written) or cancelled while it
 * waited in the queue. A slot that leaked would leave the connector OVERLOADED for good. The backend is a
 * real HTTP server; the audit sink is in memory, and fails on demand the way a full disk makes it fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ToolResult } from '../../connectors/contract.js';
import { createHttpConnector } from '../../connectors/http/index.js';
import { createAdmission, createPipeline, type CallContext } from '../../gateway/pipeline/index.js';
import { createMemoryAuditSink, type AuditSink } from '../../gateway/services/audit/index.js';
import { createCatalog } from '../../gateway/services/catalog/index.js';
import { compilePolicy } from '../../policies/index.js';
import { SLOW_TOOL, startHttpBackend } from '../fixtures/http-backend.js';

describe('connector slots', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  before(async () => {
    backend = await startHttpBackend();
  });
  after(async () => {
    await backend?.close();
  });

  /** One connector, one slot; `queued` more calls may wait. Intent records fail while `failIntents` holds. */
  async function gatewayWith(queued: number) {
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: backend.url,
      tools: [SLOW_TOOL],
    });
    const catalog = createCatalog({
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
    const memory = createMemoryAuditSink();
    const faults = { failIntents: false };
    const audit: AuditSink = {
      append: (record) =>
        faults.failIntents && record.event === 'call.intent'
          ? Promise.reject(Object.assign(new Error('no space left on device'), { code: 'AUDIT_WRITE_FAILED' }))
          : memory.append(record),
      flush: () => memory.flush(),
      close: () => memory.close(),
    };
    const engine = compilePolicy([], { extraRules: [{ id: 'allow-slow', effect: 'allow', tools: ['api_slow'] }] });
    const pipeline = createPipeline({
      catalog,
      policy: { current: () => engine },
      egress: { fetchFor: () => (input, init) => fetch(input, init) },
      audit,
      admission: createAdmission({ maxConcurrent: 1, maxQueued: queued }),
      flushAuditBeforeResponse: true,
      callTimeoutMs: 5000,
    });
    return { pipeline, faults };
  }

  const ctx = (signal: AbortSignal = new AbortController().signal): CallContext => ({
    principal: { agentId: 'bot', roles: [], authMethod: 'api-key' },
    task: { id: 'task-1' },
    signal,
    meta: {},
  });
  const code = (result: ToolResult) => result._meta?.['portcullis/code'];

  /** Resolves once the backend has received `count` requests in all. */
  async function backendReached(count: number): Promise<void> {
    while (backend.requests.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  it('refuses a call beyond the queue with OVERLOADED, and frees the slot when the calls end', async () => {
    const { pipeline } = await gatewayWith(0);
    const start = backend.requests.length;
    const first = pipeline.callTool('api_slow', { ms: 200 }, ctx());
    await backendReached(start + 1);
    const excess = await pipeline.callTool('api_slow', { ms: 0 }, ctx());
    assert.equal(code(excess), 'OVERLOADED');
    assert.notEqual((await first).isError, true);
    assert.equal(backend.requests.length, start + 1, 'the refused call reached nothing');

    const later = await pipeline.callTool('api_slow', { ms: 0 }, ctx());
    assert.notEqual(later.isError, true, JSON.stringify(later));
    assert.equal(backend.requests.length, start + 2);
  });

  it('frees the slot of a call refused after admission (its decision could not be recorded)', async () => {
    const { pipeline, faults } = await gatewayWith(0);
    const start = backend.requests.length;
    faults.failIntents = true;
    assert.equal(code(await pipeline.callTool('api_slow', { ms: 0 }, ctx())), 'AUDIT_UNAVAILABLE');
    faults.failIntents = false;
    const next = await pipeline.callTool('api_slow', { ms: 0 }, ctx());
    assert.notEqual(next.isError, true, JSON.stringify(next));
    assert.equal(backend.requests.length, start + 1, 'only the recorded call reached the backend');
  });

  it('ends a call cancelled while it waits for a slot as CANCELLED, and leaves the queue usable', async () => {
    const { pipeline } = await gatewayWith(1);
    const start = backend.requests.length;
    const first = pipeline.callTool('api_slow', { ms: 200 }, ctx());
    await backendReached(start + 1);
    const cancel = new AbortController();
    const waiting = pipeline.callTool('api_slow', { ms: 0 }, ctx(cancel.signal));
    cancel.abort();
    assert.equal(code(await waiting), 'CANCELLED');
    assert.notEqual((await first).isError, true);
    assert.equal(backend.requests.length, start + 1, 'the cancelled call reached nothing');

    const later = await pipeline.callTool('api_slow', { ms: 0 }, ctx());
    assert.notEqual(later.isError, true, JSON.stringify(later));
  });
});
