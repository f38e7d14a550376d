/**
 * The operator API behind the console pages, over real HTTP with Redis stores: roles per action, clear
 * errors for bad input, audit records for every change, and a Redis outage reported as an outage (503,
 * health "unreachable"), never as an agent state.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

describe('operator API for the console', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  const prefix = freshPrefix();
  const tokens = { admin: generateApiKey(), approver: generateApiKey(), viewer: generateApiKey() };

  const call = async (
    method: string,
    url: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${gw.gateway.baseUrl}${url}`, {
      method,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const code = (json: Record<string, unknown>): unknown => (json['error'] as { code?: unknown } | undefined)?.code;
  const openTask = async (intent: string): Promise<string> => {
    const response = await fetch(`${gw.gateway.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.agents['bot']?.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ intent }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { task: { id: string } }).task.id;
  };

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'git', kind: 'http', baseUrl: backend.url, tools: [] }],
        egress: { connectors: { git: { allowPrivate: ['127.0.0.1/32'] } } },
        stores: { kind: 'redis', url: REDIS_URL, prefix },
        operators: [
          { id: 'ada', roles: ['admin'], tokens: [{ sha256: digestApiKey(tokens.admin) }] },
          { id: 'pat', roles: ['approver'], tokens: [{ sha256: digestApiKey(tokens.approver) }] },
          { id: 'vic', roles: ['viewer'], tokens: [{ sha256: digestApiKey(tokens.viewer) }] },
        ],
      },
      [{ id: 'bot', tools: ['*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
    await deleteKeys(prefix);
  });

  it('lists tasks for viewers and lets approvers (not viewers) end one, with a reason, audited', async () => {
    const id = await openTask('nightly cleanup');
    assert.equal((await call('GET', '/v1/operator/tasks', undefined)).status, 401);
    const listed = await call('GET', '/v1/operator/tasks?agent=bot', tokens.viewer);
    assert.equal(listed.status, 200);
    const task = (listed.json['tasks'] as { id: string; intent: string; live: boolean }[]).find((t) => t.id === id);
    assert.deepEqual([task?.intent, task?.live], ['nightly cleanup', true]);

    const viewer = await call('POST', `/v1/operator/tasks/${id}/end`, tokens.viewer, { reason: 'done' });
    assert.deepEqual([viewer.status, code(viewer.json)], [403, 'FORBIDDEN']);
    const noReason = await call('POST', `/v1/operator/tasks/${id}/end`, tokens.approver, {});
    assert.deepEqual([noReason.status, code(noReason.json)], [400, 'INVALID_REQUEST']);
    const badJson = await call('POST', `/v1/operator/tasks/${id}/end`, tokens.approver, '{"reason":');
    assert.deepEqual([badJson.status, code(badJson.json)], [400, 'INVALID_REQUEST']);
    const badId = await call('POST', '/v1/operator/tasks/..%2Fx/end', tokens.approver, { reason: 'x' });
    assert.deepEqual([badId.status, code(badId.json)], [400, 'INVALID_REQUEST']);
    const unknown = await call('POST', '/v1/operator/tasks/no-such-task/end', tokens.approver, { reason: 'x' });
    assert.deepEqual([unknown.status, code(unknown.json)], [404, 'TASK_NOT_FOUND']);
    const still = await call('GET', '/v1/operator/tasks', tokens.viewer);
    assert.ok(
      (still.json['tasks'] as { id: string }[]).some((t) => t.id === id),
      'refused ends changed nothing',
    );

    const ended = await call('POST', `/v1/operator/tasks/${id}/end`, tokens.approver, { reason: 'runaway loop' });
    assert.equal(ended.status, 200);
    assert.equal((ended.json['task'] as { endReason: string }).endReason, 'runaway loop');
    const again = await call('POST', `/v1/operator/tasks/${id}/end`, tokens.approver, { reason: 'again' });
    assert.deepEqual([again.status, code(again.json)], [409, 'TASK_ENDED']);
    const lines = (await readFile(gw.auditFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const record = lines.find((r) => r['event'] === 'task.end' && r['taskId'] === id);
    assert.deepEqual([record?.['actor'], record?.['reason']], ['operator:pat', 'runaway loop']);
  });

  it('lists agents for viewers; only admins disable or enable them', async () => {
    const listed = await call('GET', '/v1/agents', tokens.viewer);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json['agents'], [{ id: 'bot', roles: [], configDisabled: false, disabled: false }]);
    const approver = await call('POST', '/v1/agents/bot/disable', tokens.approver, { reason: 'x' });
    assert.deepEqual([approver.status, code(approver.json)], [403, 'FORBIDDEN']);
    const after = await call('GET', '/v1/agents', tokens.viewer);
    assert.equal(
      (after.json['agents'] as { disabled: boolean }[])[0]?.disabled,
      false,
      'a refused change changed nothing',
    );
  });

  it('filters recent decisions and refuses bad filters', async () => {
    await openTask('to be seen in the recent list');
    const recent = await call('GET', '/v1/audit/recent?agent=bot&limit=5', tokens.viewer);
    assert.equal(recent.status, 200);
    const records = recent.json['records'] as { event: string; agentId?: string }[];
    assert.ok(records.length > 0 && records.every((r) => r.agentId === 'bot'));
    assert.equal(records[0]?.event, 'task.open');
    for (const query of ['decision=maybe', 'limit=0', 'limit=abc']) {
      const bad = await call('GET', `/v1/audit/recent?${query}`, tokens.viewer);
      assert.deepEqual([bad.status, code(bad.json)], [400, 'INVALID_REQUEST'], query);
    }
    assert.equal((await call('GET', '/v1/audit/recent', undefined)).status, 401);
  });

  it('reports a Redis outage as an outage: agents 503 STORE_UNAVAILABLE, health "unreachable"', async () => {
    const healthy = await call('GET', '/v1/operator/health', tokens.viewer);
    assert.equal(healthy.status, 200);
    assert.deepEqual(healthy.json['stores'], { kind: 'redis', reachable: true });
    assert.equal(healthy.json['ok'], true);

    gw.gateway.stores.redis?.disconnect();
    const agents = await call('GET', '/v1/agents', tokens.viewer);
    assert.deepEqual([agents.status, code(agents.json)], [503, 'STORE_UNAVAILABLE']);
    const tasks = await call('GET', '/v1/operator/tasks', tokens.viewer);
    assert.deepEqual([tasks.status, code(tasks.json)], [503, 'STORE_UNAVAILABLE']);
    const health = await call('GET', '/v1/operator/health', tokens.viewer);
    assert.deepEqual(health.json['stores'], { kind: 'redis', reachable: false });
    assert.equal(health.json['ok'], false);
  });
});
