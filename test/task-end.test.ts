/**
 * Ending a task ends what hangs off it, on the real Redis: its approval grants are removed (and none can be
 * stored for it again), a pending request of the ended task cannot be approved (TASK_ENDED), and a task
 * token is only accepted for a task that belongs to its subject, even when it is signed with the
 * gateway's own key.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { exportPKCS8, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { writePolicy } from './helpers/policy.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

const refundTool = {
  name: 'refund',
  method: 'POST',
  path: '/refunds',
  inputSchema: {
    type: 'object',
    properties: { order: { type: 'string', maxLength: 20 }, amount: { type: 'number', minimum: 0 } },
    required: ['order', 'amount'],
    additionalProperties: false,
  },
  body: { args: ['order', 'amount'] },
};

describe('task end', () => {
  const prefix = freshPrefix();
  const operatorToken = generateApiKey();
  let backend: HttpBackend;
  let gw: TestGateway;
  let redis: Redis;
  let dir: string;
  let signingKey: CryptoKey;

  before(async () => {
    backend = await startHttpBackend();
    redis = new Redis(REDIS_URL);
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-task-end-'));
    const pair = await generateKeyPair('ES256', { extractable: true });
    signingKey = pair.privateKey;
    const keyFile = path.join(dir, 'signing.pem');
    await writeFile(keyFile, await exportPKCS8(pair.privateKey));
    const policyFile = await writePolicy({
      version: 1,
      name: 'refunds',
      rules: [{ id: 'refunds-need-approval', effect: 'approve', tools: ['pay_refund'] }],
    });
    gw = await startTestGateway(
      {
        connectors: [{ id: 'pay', kind: 'http', baseUrl: backend.url, tools: [refundTool] }],
        egress: { connectors: { pay: { allowPrivate: ['127.0.0.1/32'] } } },
        policy: { files: [policyFile], watch: false },
        stores: { kind: 'redis', url: REDIS_URL, prefix },
        credentials: { signingKey: `file:${keyFile}` },
        approvals: { mode: 'return', pendingTtlSeconds: 120 },
        operators: [{ id: 'alice', roles: ['approver'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
      },
      [{ id: 'finance-bot' }, { id: 'mallory' }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
    redis?.disconnect();
    await deleteKeys(prefix);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const refunds = () => backend.requests.filter((r) => r.url === '/refunds');

  async function openTask(agent: string): Promise<{ id: string; token: string }> {
    const response = await fetch(`${gw.gateway.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.agents[agent]!.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ intent: 'refund a customer', ttlSeconds: 600 }),
    });
    assert.equal(response.status, 201);
    const body = (await response.json()) as { task: { id: string }; token: string };
    return { id: body.task.id, token: body.token };
  }

  async function endTask(agent: string, id: string): Promise<void> {
    const response = await fetch(`${gw.gateway.baseUrl}/v1/tasks/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gw.agents[agent]!.key}` },
    });
    assert.equal(response.status, 200);
  }

  /** Ask for a refund that needs approval; returns the id of the pending request it opened. */
  async function pendingRefund(credential: string, order: string): Promise<string> {
    const client = await gw.connect(credential);
    const result = await client.callTool({ name: 'pay_refund', arguments: { order, amount: 250 } });
    assert.equal(result.isError, true);
    assert.match(JSON.stringify(result.content), /APPROVAL_PENDING/);
    const listed = await fetch(`${gw.gateway.baseUrl}/v1/approvals?status=pending`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    const { approvals } = (await listed.json()) as { approvals: { id: string; args: { order?: string } }[] };
    const ticket = approvals.find((a) => a.args.order === order);
    assert.ok(ticket, `a pending request for ${order}`);
    return ticket.id;
  }

  const decide = (id: string, verb: 'approve' | 'deny', body: Record<string, unknown> = {}) =>
    fetch(`${gw.gateway.baseUrl}/v1/approvals/${id}/${verb}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'checked', ...body }),
    });

  it("removes the task's grants when the task ends, and stores none for it again", async () => {
    const task = await openTask('finance-bot');
    const ticket = await pendingRefund(task.token, 'G-1');
    const approved = await decide(ticket, 'approve', { scope: 'task-tool' });
    assert.equal(approved.status, 200);
    assert.equal(await redis.exists(`${prefix}grant:${ticket}`), 1, 'the approval stored a grant');
    assert.equal(await redis.sismember(`${prefix}grants:task:${task.id}`, ticket), 1);

    await endTask('finance-bot', task.id);
    assert.equal(await redis.exists(`${prefix}grant:${ticket}`), 0, 'the grant ended with its task');
    assert.equal(await redis.exists(`${prefix}grants:task:${task.id}`), 0);
    assert.equal(await redis.exists(`${prefix}grants:ended:${task.id}`), 1, 'no grant can be stored for it again');
  });

  it('refuses to approve a pending request of a task that has ended (TASK_ENDED); nothing is sent', async () => {
    const task = await openTask('finance-bot');
    const ticket = await pendingRefund(task.token, 'G-2');
    const before = refunds().length;
    await endTask('finance-bot', task.id);

    const approved = await decide(ticket, 'approve');
    assert.equal(approved.status, 409);
    assert.equal(((await approved.json()) as { error: { code: string } }).error.code, 'TASK_ENDED');
    const shown = await fetch(`${gw.gateway.baseUrl}/v1/approvals/${ticket}`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    assert.equal(((await shown.json()) as { status: string }).status, 'pending', 'no approval was recorded');
    assert.equal(await redis.exists(`${prefix}grant:${ticket}`), 0);
    // Denying it stays possible (deny wins, and closes the request).
    assert.equal((await decide(ticket, 'deny')).status, 200);
    assert.equal(refunds().length, before);
  });

  /**
   * A session's call that waits for approval, the session closed by its agent (`DELETE /mcp`), then the
   * operator's approval: refused, as the session's implicit task ended with it, and nothing reaches the
   * backend. `beforeClose` runs just before the DELETE.
   */
  async function approveAfterSessionClosed(order: string, beforeClose: () => Promise<unknown> = async () => undefined) {
    const key = gw.agents['finance-bot']!.key;
    const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${key}` });
    const sessionId = init.headers.get('mcp-session-id')!;
    await init.body?.cancel();
    const headers = {
      authorization: `Bearer ${key}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    };
    await rawPost(gw.gateway.mcpUrl, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    const call = await rawPost(
      gw.gateway.mcpUrl,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'pay_refund', arguments: { order, amount: 250 } },
      },
      headers,
    );
    assert.match(await call.text(), /APPROVAL_PENDING/);
    const listed = await fetch(`${gw.gateway.baseUrl}/v1/approvals?status=pending`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    const ticket = ((await listed.json()) as { approvals: { id: string; args: { order?: string } }[] }).approvals.find(
      (a) => a.args.order === order,
    )!;
    const before = refunds().length;
    await beforeClose();
    assert.equal((await fetch(gw.gateway.mcpUrl, { method: 'DELETE', headers })).status, 200);

    const approved = await decide(ticket.id, 'approve');
    assert.equal(approved.status, 409);
    assert.equal(((await approved.json()) as { error: { code: string } }).error.code, 'TASK_ENDED');
    assert.equal(refunds().length, before);
  }

  it("refuses to approve a request of a session's implicit task once the session is closed", () =>
    approveAfterSessionClosed('G-3'));

  it("answers a DELETE only once the session's task has ended, however long the store takes to end it", () =>
    // Writes to Redis wait 300 ms: ending the task is slow, while the approval's reads are not.
    approveAfterSessionClosed('G-4', () => redis.call('CLIENT', 'PAUSE', '300', 'WRITE')));

  it("refuses a task token, even one signed with the gateway's key, that names another agent's task", async () => {
    const victim = await openTask('finance-bot');
    const jwks = (await (await fetch(`${gw.gateway.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ tid: victim.id })
      .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0]!.kid, typ: 'portcullis-task+jwt' })
      .setIssuer(gw.gateway.baseUrl)
      .setAudience(gw.gateway.baseUrl)
      .setSubject('mallory')
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(signingKey);
    const before = refunds().length;
    const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${forged}` });
    assert.equal(init.status, 401);
    const body = (await init.json()) as { error: { data?: { code?: string } } };
    assert.equal(body.error.data?.code, 'UNAUTHENTICATED');
    const tasksApi = await fetch(`${gw.gateway.baseUrl}/v1/tasks/${victim.id}`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    assert.equal(tasksApi.status, 401);
    assert.equal(refunds().length, before);
    // The victim's own token for the same task still works (control).
    const own = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${victim.token}` });
    assert.equal(own.status, 200);
    await own.body?.cancel();
  });
});
