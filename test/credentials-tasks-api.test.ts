/**
 * The tasks HTTP API and the operator kill switch (router + CLI command) on real HTTP servers.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createApiKeyAuthenticator, digestApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { createRequestAuthenticator } from '../gateway/services/auth/authenticate.js';
import { createTaskTokenAuthenticator } from '../gateway/services/auth/token-authenticator.js';
import type { AuditRecordInput } from '../gateway/services/audit/types.js';
import { agentsCommand } from '../gateway/edges/cli/commands/agents.js';
import { createCredentialIssuer } from '../gateway/services/credentials/issuer.js';
import { createKeySet, generateSigningKey } from '../gateway/services/credentials/keys.js';
import { createAgentsRouter } from '../gateway/edges/operator/agents-router.js';
import { createMemoryRevocationStore } from '../gateway/stores/memory-revocation-store.js';
import { createMemoryTaskStore } from '../gateway/stores/memory-task-store.js';
import { createTaskService } from '../gateway/services/tasks/task-service.js';
import { createTasksRouter } from '../gateway/edges/http/tasks-router.js';

const ISSUER = 'https://gateway.test';
const OPERATOR_TOKEN = 'op-token-for-tests';
let server: Server;
let base: string;
const audit: AuditRecordInput[] = [];
const tasks = createMemoryTaskStore();
const revocation = createMemoryRevocationStore({ tasks });

before(async () => {
  const keys = createKeySet({ active: await generateSigningKey() });
  const issuer = createCredentialIssuer({ issuer: ISSUER, keys });
  const service = createTaskService({ store: tasks, revocation, issuer, maxTtlSeconds: 900 });
  const auth = createRequestAuthenticator({
    authenticators: [
      createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation, tasks }),
      createApiKeyAuthenticator([
        { agentId: 'alice', roles: [], keyDigests: [digestApiKey('pc_alice')] },
        { agentId: 'bob', roles: [], keyDigests: [digestApiKey('pc_bob')] },
      ]),
    ],
    isAgentDisabled: (id) => revocation.isAgentDisabled(id),
  });
  const app = express();
  app.use(
    createTasksRouter(service, (req) =>
      auth.authenticate({ headers: req.headers, url: req.originalUrl, rawHeaders: req.rawHeaders }),
    ),
  );
  const operatorOnly: express.RequestHandler = (req, res, next) => {
    if (req.headers.authorization !== `Bearer ${OPERATOR_TOKEN}`) {
      res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'operator token required' } });
      return;
    }
    res.locals['operator'] = 'ops-1';
    next();
  };
  const sink = {
    append: async (r: AuditRecordInput) => void audit.push(r),
    flush: async () => undefined,
    close: async () => undefined,
  };
  app.use(
    operatorOnly,
    createAgentsRouter(revocation, sink, { actor: (_req, res) => res.locals['operator'] as string }),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface ApiBody {
  task: { id: string; agentId: string; intent: string; endReason?: string };
  token: string;
  error: { code: string; message: string };
}

async function call(method: string, path: string, bearer: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as ApiBody };
}

describe('tasks API', () => {
  it('opens, reads, renews and ends a task; the token stops working at the end', async () => {
    const opened = await call('POST', '/v1/tasks', 'pc_alice', {
      intent: 'triage',
      declaredTools: ['github_*'],
      ttlSeconds: 120,
    });
    assert.equal(opened.status, 201);
    assert.equal(opened.headers.get('cache-control'), 'no-store');
    const { task, token } = opened.body;
    assert.equal(task.agentId, 'alice');
    assert.equal(typeof token, 'string');

    const read = await call('GET', `/v1/tasks/${task.id}`, token);
    assert.equal(read.status, 200);
    assert.equal(read.body.task.intent, 'triage');

    const renewed = await call('POST', `/v1/tasks/${task.id}/renew`, token, { ttlSeconds: 600 });
    assert.equal(renewed.status, 200);
    assert.notEqual(renewed.body.token, token);

    const ended = await call('DELETE', `/v1/tasks/${task.id}`, 'pc_alice', { reason: 'done' });
    assert.equal(ended.status, 200);
    assert.equal(ended.body.task.endReason, 'done');

    for (const stale of [token, renewed.body.token]) {
      const refused = await call('GET', `/v1/tasks/${task.id}`, stale);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error.code, 'UNAUTHENTICATED');
    }
  });

  it("an agent may not read or end another agent's task", async () => {
    const { body } = await call('POST', '/v1/tasks', 'pc_alice', { intent: 'mine' });
    const read = await call('GET', `/v1/tasks/${body.task.id}`, 'pc_bob');
    assert.equal(read.status, 404);
    const end = await call('DELETE', `/v1/tasks/${body.task.id}`, 'pc_bob');
    assert.equal(end.status, 404);
    assert.equal(end.body.error.code, 'TASK_NOT_FOUND');
    assert.equal((await tasks.get(body.task.id))?.endedAt, undefined);
  });

  it('refuses bad input, a task token opening a task, and missing credentials', async () => {
    const bad = await call('POST', '/v1/tasks', 'pc_alice', { intent: '', extra: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_REQUEST');
    const malformed = await fetch(`${base}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: 'Bearer pc_alice', 'content-type': 'application/json' },
      body: '{"intent":',
    });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as ApiBody).error.code, 'INVALID_REQUEST');
    const { body } = await call('POST', '/v1/tasks', 'pc_alice', { intent: 'x' });
    const nested = await call('POST', '/v1/tasks', body.token, { intent: 'spawn' });
    assert.equal(nested.status, 403);
    const anonymous = await fetch(`${base}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"intent":"x"}',
    });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
  });
});

describe('agents kill switch', () => {
  it('the CLI disables an agent through the operator API; its task token stops working; enable restores it', async () => {
    const { body } = await call('POST', '/v1/tasks', 'pc_bob', { intent: 'work' });
    assert.equal((await call('GET', `/v1/tasks/${body.task.id}`, body.token)).status, 200);

    const output: string[] = [];
    await agentsCommand({ write: (t) => void output.push(t) }).parseAsync(
      ['disable', 'bob', '--url', base, '--token', OPERATOR_TOKEN, '--reason', 'leaked'],
      { from: 'user' },
    );
    assert.deepEqual(output, ['agent bob disabled\n']);
    assert.equal(await revocation.isAgentDisabled('bob'), true);
    const refused = await call('GET', `/v1/tasks/${body.task.id}`, body.token);
    assert.equal(refused.status, 403);
    assert.equal((await call('POST', '/v1/tasks', 'pc_bob', { intent: 'again' })).status, 403);
    assert.deepEqual(
      audit.map((r) => [r.event, r.agentId, r.actor, r.reason]),
      [['agent.disable', 'bob', 'ops-1', 'leaked']],
    );

    await agentsCommand({ write: (t) => void output.push(t) }).parseAsync(
      ['enable', 'bob', '--url', base, '--token', OPERATOR_TOKEN],
      { from: 'user' },
    );
    assert.equal((await call('GET', `/v1/tasks/${body.task.id}`, body.token)).status, 200);
  });

  it('the CLI reports a refused operator token and a missing token without changing anything', async () => {
    const command = agentsCommand({ write: () => undefined });
    await assert.rejects(
      command.parseAsync(['disable', 'alice', '--url', base, '--token', 'wrong'], { from: 'user' }),
      /UNAUTHENTICATED/,
    );
    await assert.rejects(
      agentsCommand().parseAsync(['disable', 'alice', '--url', base], { from: 'user' }),
      /operator token is required/,
    );
    assert.equal(await revocation.isAgentDisabled('alice'), false);
  });

  it('rejects invalid agent ids', async () => {
    const response = await call('POST', '/v1/agents/..%2Fx/disable', OPERATOR_TOKEN, {});
    assert.equal(response.status, 400);
  });
});
