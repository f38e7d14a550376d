/**
 * Truthful errors while the state store is down: a redis-server of the test's own is killed under a
 * running gateway. Calls and session opens are refused with STORE_UNAVAILABLE (never "agent disabled",
 * TASK_ENDED or RATE_LIMITED), nothing reaches the backend, the refusals are audited and counted, and
 * readiness says why; once Redis is back (with its data, AOF) the same agent works again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createHttpConnector } from '../../connectors/http/index.js';
import { createPipeline } from '../../gateway/pipeline/index.js';
import { createMemoryAuditSink, verifyAuditLog } from '../../gateway/services/audit/index.js';
import { createCatalog } from '../../gateway/services/catalog/index.js';
import { createTaskStateSource } from '../../gateway/services/tasks/index.js';
import { createMetrics } from '../../gateway/services/metrics/index.js';
import { openStores, type Stores } from '../../gateway/stores/index.js';
import { compilePolicy } from '../../policies/index.js';
import { startHttpBackend, TEXT_TOOL } from '../fixtures/http-backend.js';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/index.js';
import { startGatewayProcess, type GatewayProcess } from '../fixtures/gateway-process.js';
import { INITIALIZE, rawPost, readAudit } from '../helpers/gateway.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisProcess, type RedisProcess } from './redis-process.js';

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('state store outage', () => {
  let redis: RedisProcess;
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: GatewayProcess;
  let agent: Client;
  const key = generateApiKey();
  let auditFile: string;

  before(async () => {
    redis = await startRedisProcess({ persist: true });
    backend = await startHttpBackend();
    // The gateway is a process of its own: what it leaves behind on exit cannot affect the test runner.
    gw = await startGatewayProcess({
      config: (dir) => {
        auditFile = `${dir}/audit.jsonl`;
        return {
          listen: { host: '127.0.0.1', port: 0 },
          audit: { file: auditFile },
          policy: { watch: false },
          connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [TEXT_TOOL] }],
          egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
          stores: { kind: 'redis', url: redis.url, prefix: freshPrefix() },
          agents: [{ id: 'bot', apiKeys: [{ sha256: digestApiKey(key) }], tools: ['api_text'] }],
        };
      },
    });
    agent = (await gw.connect(key)).client;
  });
  after(async () => {
    await gw?.close().catch(() => undefined);
    await backend?.close();
    await redis?.close();
  });

  const readyz = async (): Promise<{ status: number; reason?: string }> => {
    const response = await fetch(`${gw.baseUrl}/readyz`);
    const body = (await response.json()) as { reason?: string };
    return { status: response.status, ...(body.reason !== undefined ? { reason: body.reason } : {}) };
  };
  /** The call's outcome code as the agent sees it: a tool result code, or the HTTP refusal's JSON-RPC data code. */
  const callCode = async (): Promise<string | undefined> => {
    try {
      const result = await agent.callTool({ name: 'api_text', arguments: {} });
      if (result.isError !== true) return undefined;
      return (result._meta as Record<string, unknown>)['portcullis/code'] as string;
    } catch (error) {
      const match = /"code":"([A-Z_]+)"/.exec(String((error as Error).message));
      return match?.[1] ?? `thrown: ${(error as Error).message}`;
    }
  };

  it('refuses with STORE_UNAVAILABLE while Redis is down and recovers when it returns', async () => {
    assert.equal(await callCode(), undefined);
    assert.equal((await readyz()).status, 200);
    const reached = backend.requests.length;

    await redis.kill();
    assert.ok(await waitFor(async () => (await readyz()).status === 503, 5000), 'readiness fails');
    assert.match((await readyz()).reason ?? '', /state store unavailable/);

    const codes = await Promise.all(Array.from({ length: 5 }, () => callCode()));
    assert.deepEqual(codes, Array(5).fill('STORE_UNAVAILABLE'));

    // A new session: authentication needs the kill-switch check, which cannot be answered.
    const open = await rawPost(gw.mcpUrl, INITIALIZE, { authorization: `Bearer ${key}` });
    assert.equal(open.status, 503);
    assert.equal(open.headers.get('retry-after'), '5');
    const body = (await open.json()) as { error: { data?: { code?: string }; message: string } };
    assert.equal(body.error.data?.code, 'STORE_UNAVAILABLE');
    assert.doesNotMatch(body.error.message, /disabled/);
    assert.equal(backend.requests.length, reached, 'nothing reached the backend during the outage');

    const metrics = await (await fetch(`${gw.baseUrl}/metrics`)).text();
    assert.match(metrics, /portcullis_store_unavailable_total\{operation="authenticate"\} 6/);

    const back = performance.now();
    await redis.start({ persist: true });
    assert.ok(await waitFor(async () => (await readyz()).status === 200, 10_000), 'ready again');
    const recovery = Math.round(performance.now() - back);
    assert.equal(await callCode(), undefined);
    assert.equal(backend.requests.length, reached + 1);
    console.log(`recovery after Redis returned (AOF): ready again in ${recovery} ms`);

    const records = await readAudit(auditFile);
    // Each request is authenticated (kill switch included) before its call is looked at.
    const refused = records.filter((r) => r['code'] === 'STORE_UNAVAILABLE');
    assert.equal(refused.length, 6);
    for (const r of refused) {
      assert.equal(r['event'], 'auth.failure');
      assert.equal(r['decision'], 'error', 'an outage is not a policy decision');
    }
    assert.equal(
      records.filter((r) => ['TASK_ENDED', 'RATE_LIMITED', 'FORBIDDEN'].includes(r['code'] as string)).length,
      0,
    );
    assert.equal((await verifyAuditLog(auditFile)).ok, true);
  });
});

describe('pipeline steps that need the store, with Redis gone', () => {
  let redis: RedisProcess;
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let stores: Stores;

  before(async () => {
    redis = await startRedisProcess();
    backend = await startHttpBackend();
    stores = await openStores(
      { kind: 'redis', url: redis.url, prefix: freshPrefix(), recovery: { automatic: true, auditFiles: [] } },
      { env: {}, baseDir: '.' },
    );
  });
  after(async () => {
    await stores?.close();
    await backend?.close();
    await redis?.close();
  });

  it('task state and rate-limit counters that cannot answer refuse with STORE_UNAVAILABLE, audited', async () => {
    const connector = await createHttpConnector({ id: 'api', kind: 'http', baseUrl: backend.url, tools: [TEXT_TOOL] });
    const catalog = createCatalog({
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
    const audit = createMemoryAuditSink();
    const metrics = createMetrics();
    const task = await stores.tasks.create({
      id: 'task-1',
      agentId: 'bot',
      intent: 'test',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    const build = (rules: object[], withTaskState: boolean) =>
      createPipeline({
        catalog,
        policy: { current: () => compilePolicy([], { extraRules: rules }) },
        egress: { fetchFor: () => (input, init) => fetch(input, init) },
        audit,
        metrics,
        ...(withTaskState ? { tasks: createTaskStateSource(stores.tasks) } : {}),
        rateLimiter: stores.rateLimiter,
        flushAuditBeforeResponse: true,
        callTimeoutMs: 5000,
      });
    const ctx = {
      principal: { agentId: 'bot', roles: [], authMethod: 'api-key' as const },
      task: { id: task.id },
      signal: new AbortController().signal,
      meta: {},
    };
    const limited = [{ id: 'limited', effect: 'allow', tools: ['api_text'], rateLimit: { calls: 100, per: '1m' } }];
    const before = await build(limited, true).callTool('api_text', {}, ctx);
    assert.notEqual(before.isError, true, JSON.stringify(before));
    const reached = backend.requests.length;

    await redis.kill();
    const taskState = await build([{ id: 'open', effect: 'allow', tools: ['api_text'] }], true).callTool(
      'api_text',
      {},
      ctx,
    );
    assert.equal(taskState._meta?.['portcullis/code'], 'STORE_UNAVAILABLE');
    const rateLimited = await build(limited, false).callTool('api_text', {}, ctx);
    assert.equal(rateLimited._meta?.['portcullis/code'], 'STORE_UNAVAILABLE');
    assert.equal(backend.requests.length, reached, 'nothing reached the backend');

    const refused = audit.records.filter((r) => r.code === 'STORE_UNAVAILABLE');
    assert.deepEqual(
      refused.map((r) => [r.event, r.decision]),
      [
        ['tool.call', 'error'],
        ['tool.call', 'error'],
      ],
    );
    const text = await metrics.metricsText();
    assert.match(text, /portcullis_store_unavailable_total\{operation="task-state"\} 1/);
    assert.match(text, /portcullis_store_unavailable_total\{operation="rate-limit"\} 1/);
  });
});
