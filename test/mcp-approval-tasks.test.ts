/**
 * Approvals on the 2026-07-28 path, on a real gateway, a real REST backend and the real Redis: an agent that
 * negotiates the Tasks extension gets a task for a call that needs an operator (answered on any instance
 * sharing the store, readable only by its owner); an agent without it keeps `wait` and `return` modes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  createTaskSessionFromClient,
  resultFromTaskOutcome,
  type JsonRpcResponse,
  type RawClientDispatch,
} from '@modelcontextprotocol/ext-tasks/client';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { MODERN, modernPost, nameOf, type ModernAnswer } from './helpers/modern.js';
import { writePolicy } from './helpers/policy.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

const TASKS = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

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

const POLICY = {
  version: 1,
  name: 'finance',
  rules: [
    { id: 'small-refunds', effect: 'allow', tools: ['pay_refund'], when: 'args.amount <= 100' },
    { id: 'large-refunds-need-approval', effect: 'approve', tools: ['pay_refund'], when: 'args.amount > 100' },
  ],
};

type Backend = Awaited<ReturnType<typeof startHttpBackend>>;

/** A finance gateway on the shared prefix (memory stores without one); every instance knows the same operator. */
async function startInstance(
  backend: Backend,
  prefix: string | undefined,
  operatorToken: string,
  approvals: Record<string, unknown>,
): Promise<TestGateway> {
  return startTestGateway(
    {
      connectors: [{ id: 'pay', kind: 'http', baseUrl: backend.url, tools: [refundTool] }],
      egress: { connectors: { pay: { allowPrivate: ['127.0.0.1/32'] } } },
      policy: { files: [await writePolicy(POLICY)], watch: false },
      ...(prefix !== undefined ? { stores: { kind: 'redis', url: REDIS_URL, prefix } } : {}),
      operators: [{ id: 'alice', roles: ['approver'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
      approvals,
    },
    [
      { id: 'finance-bot', tools: ['pay_*'] },
      { id: 'other-bot', tools: ['pay_*'] },
    ],
  );
}

async function decide(gw: TestGateway, token: string, id: string, verdict: 'approve' | 'deny', reason: string) {
  const response = await fetch(`${gw.gateway.baseUrl}/v1/approvals/${id}/${verdict}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function pendingIds(gw: TestGateway, token: string): Promise<string[]> {
  const response = await fetch(`${gw.gateway.baseUrl}/v1/approvals?status=pending`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await response.json()) as { approvals: { id: string }[] }).approvals.map((a) => a.id);
}

async function waitForPending(gw: TestGateway, token: string, known: readonly string[] = []): Promise<string> {
  for (let i = 0; i < 400; i += 1) {
    const fresh = (await pendingIds(gw, token)).find((id) => !known.includes(id));
    if (fresh !== undefined) return fresh;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('no pending approval request appeared');
}

/** Polls `tasks/get` until the task leaves `working`. */
async function settle(url: string, key: string, taskId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 600; i += 1) {
    const answer = await modernPost(url, 'tasks/get', { taskId }, { key, capabilities: TASKS });
    assert.equal(answer.body.error, undefined, JSON.stringify(answer.body));
    if (answer.body.result?.['status'] !== 'working') return answer.body.result!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('the task did not settle');
}

function created(answer: ModernAnswer): { taskId: string; status: string; statusMessage: string } {
  assert.equal(answer.status, 200);
  const result = answer.body.result;
  assert.equal(result?.['resultType'], 'task', JSON.stringify(answer.body));
  return result as { taskId: string; status: string; statusMessage: string };
}

describe('approvals as tasks (2026-07-28, Tasks extension, Redis)', () => {
  const prefix = freshPrefix();
  const operator = generateApiKey();
  let backend: Backend;
  let a: TestGateway;
  let b: TestGateway;
  const refunds = () => backend.requests.filter((r) => r.url === '/refunds');
  const call = (gw: TestGateway, order: string, amount: number) =>
    modernPost(
      gw.gateway.mcpUrl,
      'tools/call',
      { name: 'pay_refund', arguments: { order, amount } },
      { key: gw.agents['finance-bot']!.key, capabilities: TASKS },
    );

  before(async () => {
    backend = await startHttpBackend();
    a = await startInstance(backend, prefix, operator, { mode: 'wait', waitSeconds: 20, pendingTtlSeconds: 60 });
    b = await startInstance(backend, prefix, operator, { mode: 'wait', waitSeconds: 20, pendingTtlSeconds: 60 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await backend?.close();
    await deleteKeys(prefix);
  });

  it('advertises the Tasks extension in server/discover', async () => {
    const answer = await modernPost(a.gateway.mcpUrl, 'server/discover', {}, { key: a.agents['finance-bot']!.key });
    const capabilities = answer.body.result?.['capabilities'] as { extensions?: Record<string, unknown> };
    assert.deepEqual(capabilities.extensions?.['io.modelcontextprotocol/tasks'], {});
  });

  it('returns a working task naming the approval request; approval completes it with the real result', async () => {
    const before = refunds().length;
    const task = created(await call(a, 'T-1', 250));
    assert.equal(task.status, 'working');
    const approvalId = await waitForPending(a, operator);
    assert.match(task.statusMessage, new RegExp(approvalId));
    // Polled on the other instance: the same state, from the shared store.
    const polled = await modernPost(
      b.gateway.mcpUrl,
      'tasks/get',
      { taskId: task.taskId },
      { key: b.agents['finance-bot']!.key, capabilities: TASKS },
    );
    assert.equal(polled.body.result?.['status'], 'working');
    assert.match(String(polled.body.result?.['statusMessage']), new RegExp(approvalId));
    assert.equal(refunds().length, before, 'nothing reached the backend while pending');

    await decide(a, operator, approvalId, 'approve', 'checked');
    const done = await settle(b.gateway.mcpUrl, b.agents['finance-bot']!.key, task.taskId);
    assert.equal(done['status'], 'completed', JSON.stringify(done));
    const result = done['result'] as { isError?: boolean; content: { text: string }[] };
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.match(result.content[0]!.text, /T-1/);
    const seen = refunds().slice(before);
    assert.equal(seen.length, 1, 'the backend received exactly one call');
    assert.deepEqual(JSON.parse(seen[0]!.body), { order: 'T-1', amount: 250 });
    const records = await readAudit(a.auditFile);
    assert.ok(
      records.some((r) => r['event'] === 'tool.call' && r['decision'] === 'allow' && r['approvalId'] === approvalId),
      'the approved call is audited with its approval',
    );
  });

  it('fails the task with APPROVAL_DENIED on denial, and nothing reaches the backend', async () => {
    const before = refunds().length;
    const known = await pendingIds(a, operator);
    const task = created(await call(a, 'T-2', 300));
    const approvalId = await waitForPending(a, operator, known);
    await decide(b, operator, approvalId, 'deny', 'duplicate refund');
    const done = await settle(a.gateway.mcpUrl, a.agents['finance-bot']!.key, task.taskId);
    assert.equal(done['status'], 'failed');
    const error = done['error'] as { code: number; message: string; data: { code: string; approvalId: string } };
    assert.equal(error.data.code, 'APPROVAL_DENIED');
    assert.equal(error.data.approvalId, approvalId);
    assert.match(error.message, /duplicate refund/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(refunds().length, before);
  });

  it('another principal cannot read or cancel the task (not found)', async () => {
    const known = await pendingIds(a, operator);
    const task = created(await call(a, 'T-3', 400));
    const approvalId = await waitForPending(a, operator, known);
    const otherKey = a.agents['other-bot']!.key;
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const answer = await modernPost(
        a.gateway.mcpUrl,
        method,
        { taskId: task.taskId },
        { key: otherKey, capabilities: TASKS },
      );
      assert.equal(answer.body.error?.code, -32602, JSON.stringify(answer.body));
      assert.equal(answer.body.error?.data?.['code'], 'NOT_FOUND');
    }
    const unknown = await modernPost(
      a.gateway.mcpUrl,
      'tasks/get',
      { taskId: 'no-such-task' },
      { key: a.agents['finance-bot']!.key, capabilities: TASKS },
    );
    assert.equal(unknown.body.error?.data?.['code'], 'NOT_FOUND', 'the same answer as an unknown id');
    const still = await modernPost(
      a.gateway.mcpUrl,
      'tasks/get',
      { taskId: task.taskId },
      { key: a.agents['finance-bot']!.key, capabilities: TASKS },
    );
    assert.equal(still.body.result?.['status'], 'working');
    // Without the extension declared in the request, the task methods do not exist for it (-32021).
    const undeclared = await modernPost(
      a.gateway.mcpUrl,
      'tasks/get',
      { taskId: task.taskId },
      { key: a.agents['finance-bot']!.key },
    );
    assert.equal(undeclared.body.error?.code, -32021, JSON.stringify(undeclared.body));
    await decide(a, operator, approvalId, 'deny', 'cleanup');
  });

  it('checks Mcp-Name against the task id before anything else (-32020)', async () => {
    const known = await pendingIds(a, operator);
    const key = a.agents['finance-bot']!.key;
    const task = created(await call(a, 'T-7', 700));
    const approvalId = await waitForPending(a, operator, known);
    const mismatch = await modernPost(
      a.gateway.mcpUrl,
      'tasks/get',
      { taskId: task.taskId },
      { key, headers: { 'mcp-name': 'another-task' } },
    );
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.error?.code, -32020);
    await decide(a, operator, approvalId, 'deny', 'cleanup');
  });

  it('a task whose instance stops before the decision fails with SHUTTING_DOWN, seen on another instance', async () => {
    const before = refunds().length;
    const c = await startInstance(backend, prefix, operator, { mode: 'wait', pendingTtlSeconds: 60 });
    let closed = false;
    try {
      const known = await pendingIds(a, operator);
      const task = created(await call(c, 'T-8', 800));
      const approvalId = await waitForPending(a, operator, known);
      await c.close();
      closed = true;
      const done = await settle(a.gateway.mcpUrl, a.agents['finance-bot']!.key, task.taskId);
      assert.equal(done['status'], 'failed');
      assert.equal((done['error'] as { data: { code: string } }).data.code, 'SHUTTING_DOWN');
      await decide(a, operator, approvalId, 'deny', 'cleanup');
      assert.equal(refunds().length, before);
    } finally {
      if (!closed) await c.close();
    }
  });

  it('a cancelled task does not run when the approval comes later', async () => {
    const before = refunds().length;
    const known = await pendingIds(a, operator);
    const key = a.agents['finance-bot']!.key;
    const task = created(await call(a, 'T-4', 500));
    const approvalId = await waitForPending(a, operator, known);
    const cancel = () =>
      modernPost(
        b.gateway.mcpUrl,
        'tasks/cancel',
        { taskId: task.taskId },
        { key: b.agents['finance-bot']!.key, capabilities: TASKS },
      );
    const cancelled = await cancel();
    assert.deepEqual(cancelled.body.result?.['resultType'], 'complete', JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.result?.['taskId'], undefined, 'an empty acknowledgement');
    await decide(a, operator, approvalId, 'approve', 'too late');
    const done = await settle(a.gateway.mcpUrl, key, task.taskId);
    assert.equal(done['status'], 'cancelled');
    assert.equal((await cancel()).body.result?.['resultType'], 'complete', 'cancelling again is acknowledged alike');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(refunds().length, before);
  });

  it('the Tasks extension client drives the task to the approved result', async () => {
    const key = a.agents['finance-bot']!.key;
    const sent: string[] = [];
    const client = new Client(
      { name: 'tasks-client', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: MODERN } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(a.gateway.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    assert.equal(client.getProtocolEra(), 'modern');
    const session = createTaskSessionFromClient(client, {
      endpointId: 'gateway-a',
      rawDispatch: rawDispatch(a.gateway.mcpUrl, key, sent),
      v2RequestFraming: {
        protocolVersion: MODERN,
        clientInfo: { name: 'tasks-client', version: '1.0.0' },
        clientCapabilities: {},
      },
    });
    try {
      const before = refunds().length;
      const known = await pendingIds(a, operator);
      const execution = await session.callTool('pay_refund', { order: 'T-6', amount: 600 });
      assert.equal(execution.kind, 'task');
      const approvalId = await waitForPending(a, operator, known);
      await decide(a, operator, approvalId, 'approve', 'checked');
      const { outcome } = await execution.settle();
      const result = resultFromTaskOutcome(outcome) as { isError?: boolean; content: { text: string }[] };
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.match(result.content[0]!.text, /T-6/);
      assert.equal(refunds().length, before + 1);
      assert.ok(sent.includes('tools/call') && sent.includes('tasks/get'), sent.join(','));
    } finally {
      await session.close();
      await client.close();
    }
  });

  it('a call that needs no approval is answered directly, not as a task', async () => {
    const answer = await call(a, 'T-5', 20);
    assert.equal(answer.body.result?.['resultType'], 'complete');
    assert.notEqual(answer.body.result?.['isError'], true);
  });
});

describe('approvals on the 2026-07-28 path without the Tasks extension (Redis)', () => {
  const prefix = freshPrefix();
  const operator = generateApiKey();
  let backend: Backend;
  let waiting: TestGateway;
  let returning: TestGateway;
  const refunds = () => backend.requests.filter((r) => r.url === '/refunds');

  before(async () => {
    backend = await startHttpBackend();
    waiting = await startInstance(backend, `${prefix}w:`, operator, { mode: 'wait', waitSeconds: 20 });
    returning = await startInstance(backend, `${prefix}r:`, operator, { mode: 'return' });
  });
  after(async () => {
    await waiting?.close();
    await returning?.close();
    await backend?.close();
    await deleteKeys(prefix);
  });

  it('wait mode: the call waits for the operator and returns the real result', async () => {
    const before = refunds().length;
    const answer = modernPost(
      waiting.gateway.mcpUrl,
      'tools/call',
      { name: 'pay_refund', arguments: { order: 'W-1', amount: 250 } },
      { key: waiting.agents['finance-bot']!.key },
    );
    const approvalId = await waitForPending(waiting, operator);
    assert.equal(refunds().length, before);
    await decide(waiting, operator, approvalId, 'approve', 'checked');
    const result = (await answer).body.result!;
    assert.equal(result['resultType'], 'complete');
    assert.notEqual(result['isError'], true, JSON.stringify(result));
    assert.equal(refunds().length, before + 1);
  });

  it('return mode: APPROVAL_PENDING at once; the same call in the same task runs once approved', async () => {
    const before = refunds().length;
    const key = returning.agents['finance-bot']!.key;
    const params = { name: 'pay_refund', arguments: { order: 'R-1', amount: 250 } };
    const first = (await modernPost(returning.gateway.mcpUrl, 'tools/call', params, { key })).body.result!;
    const meta = first['_meta'] as Record<string, unknown>;
    assert.equal(meta['portcullis/code'], 'APPROVAL_PENDING');
    const approvalId = meta['portcullis/approvalId'] as string;
    const handle = meta['portcullis/task'];
    assert.equal(typeof handle, 'string', 'the result carries the task handle to echo');
    await decide(returning, operator, approvalId, 'approve', 'checked');
    const retried = await modernPost(returning.gateway.mcpUrl, 'tools/call', params, {
      key,
      meta: { 'portcullis/task': handle },
    });
    assert.notEqual(retried.body.result?.['isError'], true, JSON.stringify(retried.body));
    assert.equal(refunds().length, before + 1);
    assert.deepEqual(JSON.parse(refunds().at(-1)!.body), { order: 'R-1', amount: 250 });
  });
});

/** The raw 2026-07-28 request path the Tasks client needs for `tools/call` and `tasks/*` (records the methods). */
function rawDispatch(url: string, key: string, sent: string[]): RawClientDispatch {
  let id = 1000;
  return async (request, options) => {
    const message = request as { method: string; params?: Record<string, unknown> };
    sent.push(message.method);
    const name = nameOf(message.method, message.params ?? {});
    const headers = new Headers({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${key}`,
      'mcp-protocol-version': MODERN,
      'mcp-method': message.method,
      ...(name !== undefined ? { 'mcp-name': name } : {}),
    });
    for (const [header, value] of Object.entries(options?.context?.headers ?? {})) headers.set(header, value);
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: id++, ...message }),
      ...(options?.signal !== undefined ? { signal: options.signal } : {}),
    });
    const text = await response.text();
    const body = JSON.parse(
      text.trim().startsWith('{')
        ? text
        : text
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5))
            .at(-1)!,
    ) as { result?: unknown; error?: { code: number; message: string } };
    return (
      body.error !== undefined ? { kind: 'error', error: body.error } : { kind: 'result', result: body.result }
    ) as JsonRpcResponse;
  };
}

describe('approvals as tasks with memory stores: expiry', () => {
  const operator = generateApiKey();
  let backend: Backend;
  let gw: TestGateway;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startInstance(backend, undefined, operator, { mode: 'wait', pendingTtlSeconds: 1 });
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  it('fails the task with APPROVAL_EXPIRED when nobody decides in time; nothing reaches the backend', async () => {
    const key = gw.agents['finance-bot']!.key;
    const answer = await modernPost(
      gw.gateway.mcpUrl,
      'tools/call',
      { name: 'pay_refund', arguments: { order: 'E-1', amount: 250 } },
      { key, capabilities: TASKS },
    );
    const task = created(answer);
    const done = await settle(gw.gateway.mcpUrl, key, task.taskId);
    assert.equal(done['status'], 'failed');
    const error = done['error'] as { message: string; data: { code: string; approvalId: string } };
    assert.equal(error.data.code, 'APPROVAL_EXPIRED');
    assert.match(task.statusMessage, new RegExp(error.data.approvalId));
    assert.equal(backend.requests.filter((r) => r.url === '/refunds').length, 0);
  });
});
