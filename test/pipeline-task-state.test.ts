/**
 * The pipeline's task check: a call made for a task that has ended is refused with TASK_ENDED before
 * anything else happens, even when the caller's session was opened while the task was live. The task
 * store is the real in-memory store; the backend is the real HTTP fixture.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createHttpConnector } from '../connectors/http/index.js';
import type { AuditSink } from '../gateway/services/audit/types.js';
import { createCatalog } from '../gateway/services/catalog/catalog.js';
import { createTaskStateSource, type TaskStore } from '../gateway/services/tasks/index.js';
import { createMemoryTaskStore } from '../gateway/stores/memory-task-store.js';
import { createPipeline, type EgressProvider } from '../gateway/pipeline/index.js';
import { compilePolicy } from '../policies/index.js';
import { startHttpBackend } from './fixtures/http-backend.js';

describe('pipeline task check', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let tasks: TaskStore;
  let pipeline: Awaited<ReturnType<typeof createPipeline>>;
  const records: Record<string, unknown>[] = [];
  const audit: AuditSink = {
    append: async (record) => {
      records.push(record as unknown as Record<string, unknown>);
    },
    flush: async () => {},
    close: async () => {},
  };

  before(async () => {
    backend = await startHttpBackend();
    tasks = createMemoryTaskStore();
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: backend.url,
      tools: [
        {
          name: 'get_user',
          method: 'GET',
          path: '/users/{id}',
          inputSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
        },
      ],
    });
    const egress: EgressProvider = { fetchFor: () => (input, init) => fetch(input, init) };
    const catalog = createCatalog({
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
    const engine = compilePolicy([], { extraRules: [{ id: 'allow', effect: 'allow', tools: ['api_get_user'] }] });
    pipeline = createPipeline({
      catalog,
      policy: { current: () => engine },
      egress,
      audit,
      flushAuditBeforeResponse: false,
      callTimeoutMs: 5000,
      // The task view the gateway builds on its task store.
      tasks: createTaskStateSource(tasks),
    });
  });
  after(async () => {
    await backend?.close();
  });
  beforeEach(() => {
    backend.requests.length = 0;
    records.length = 0;
  });

  async function openTask(id: string) {
    const now = Date.now();
    await tasks.create({
      id,
      agentId: 'a',
      tenant: 'acme',
      intent: 'read users',
      declaredTools: ['api_get_user'],
      createdAt: now,
      expiresAt: now + 600_000,
    });
  }

  const ctxFor = (taskId: string) => ({
    principal: { agentId: 'a', tenant: 'acme', roles: [], authMethod: 'task-token' as const },
    task: { id: taskId },
    signal: new AbortController().signal,
    meta: {},
  });

  it('a call for a live task reaches the backend', async () => {
    await openTask('live-task');
    const result = await pipeline.callTool('api_get_user', { id: 7 }, ctxFor('live-task'));
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.deepEqual(
      backend.requests.map((r) => `${r.method} ${r.url}`),
      ['GET /users/7'],
    );
  });

  it('a call made after its task ended is refused with TASK_ENDED and nothing reaches the backend', async () => {
    await openTask('ended-task');
    const ctx = ctxFor('ended-task');
    assert.notEqual((await pipeline.callTool('api_get_user', { id: 1 }, ctx)).isError, true);
    await tasks.end('ended-task', 'done');
    backend.requests.length = 0;

    const result = await pipeline.callTool('api_get_user', { id: 2 }, ctx);
    assert.equal(result.isError, true);
    assert.equal(result._meta?.['portcullis/code'], 'TASK_ENDED');
    assert.equal(backend.requests.length, 0, 'the backend received nothing');
    assert.equal(records.at(-1)?.['code'], 'TASK_ENDED', 'the audit record names the refusal');
  });

  it('a call for a task the store does not know is refused with TASK_ENDED and nothing is sent', async () => {
    const result = await pipeline.callTool('api_get_user', { id: 3 }, ctxFor('never-opened'));
    assert.equal(result._meta?.['portcullis/code'], 'TASK_ENDED');
    assert.equal(backend.requests.length, 0, 'the backend received nothing');
  });
});
