/**
 * Fail closed on the audit steps: when the audit log cannot be written, a call whose decision cannot be
 * recorded ahead is refused before anything is sent (write-ahead, the default), and where records are
 * flushed before the response, the agent gets no result from a call whose outcome could not be recorded. The sink below fails the way a
 * full or broken disk makes the JSONL sink fail (every append rejects); everything else is real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttpConnector } from '../connectors/http/index.js';
import type { AuditSink } from '../gateway/services/audit/types.js';
import { createCatalog } from '../gateway/services/catalog/catalog.js';
import { createPipeline, type EgressProvider } from '../gateway/pipeline/pipeline.js';
import { compilePolicy } from '../policies/index.js';
import { startHttpBackend } from './fixtures/http-backend.js';

const failingAudit: AuditSink = {
  append: () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'AUDIT_WRITE_FAILED' })),
  flush: async () => {},
  close: async () => {},
};

describe('pipeline record step', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;

  before(async () => {
    backend = await startHttpBackend();
  });
  after(async () => {
    await backend?.close();
  });

  async function pipelineWith(flushAuditBeforeResponse: boolean, writeAheadAudit = true) {
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: backend.url,
      tools: [
        {
          name: 'text',
          method: 'GET',
          path: '/text',
          inputSchema: { type: 'object', properties: {}, additionalProperties: false },
        },
      ],
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
      audit: failingAudit,
      flushAuditBeforeResponse,
      writeAheadAudit,
      callTimeoutMs: 5000,
    });
  }

  const ctx = {
    principal: { agentId: 'a', roles: [], authMethod: 'api-key' as const },
    task: { id: 't' },
    signal: new AbortController().signal,
    meta: {},
  };

  it('refuses the call before invoking when its decision cannot be recorded (write-ahead)', async () => {
    const before = backend.requests.length;
    for (const flush of [true, false]) {
      const result = await (await pipelineWith(flush)).callTool('api_text', {}, ctx);
      assert.equal(result.isError, true);
      assert.equal(result._meta?.['portcullis/code'], 'AUDIT_UNAVAILABLE');
      assert.doesNotMatch(JSON.stringify(result), /no space left/, 'the error names no internals');
    }
    assert.equal(backend.requests.length, before, 'nothing reached the backend');
  });

  it('withholds the result when the outcome cannot be written before the response (write-ahead off)', async () => {
    const result = await (await pipelineWith(true, false)).callTool('api_text', {}, ctx);
    assert.equal(result.isError, true);
    assert.equal(result._meta?.['portcullis/code'], 'AUDIT_UNAVAILABLE');
    assert.match(JSON.stringify(result), /withheld/);
  });

  it('answers normally when records are neither written ahead nor flushed before the response', async () => {
    const result = await (await pipelineWith(false, false)).callTool('api_text', {}, ctx);
    assert.notEqual(result.isError, true, JSON.stringify(result));
  });
});
