/**
 * Operator-approved elevation end to end, on the real Redis: an agent's call that the policy sends for
 * approval waits (or is told to retry), an operator decides through the CLI or the HTTP API, and the backend
 * receives exactly the approved request, or nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { cliArgs } from './fixtures/gateway-process.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { writePolicy } from './helpers/policy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

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
    {
      id: 'huge-refunds-need-two',
      effect: 'approve',
      tools: ['pay_refund'],
      when: 'args.amount > 10000',
      approval: { approvers: 2 },
    },
  ],
};

interface Operators {
  alice: string;
  bob: string;
  owner: string;
}

async function cli(
  gw: TestGateway,
  token: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      cliArgs('approvals', ...args, '--url', gw.gateway.baseUrl, '--token', token),
      {
        cwd: root,
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function pendingTickets(
  gw: TestGateway,
  token: string,
): Promise<{ id: string; args: Record<string, unknown>; status: string }[]> {
  const response = await fetch(`${gw.gateway.baseUrl}/v1/approvals?status=pending`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { approvals: { id: string; args: Record<string, unknown>; status: string }[] })
    .approvals;
}

async function waitForPending(
  gw: TestGateway,
  token: string,
  count = 1,
): Promise<{ id: string; args: Record<string, unknown> }[]> {
  for (let i = 0; i < 200; i += 1) {
    const tickets = await pendingTickets(gw, token);
    if (tickets.length >= count) return tickets;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('no pending approval request appeared');
}

async function startFinanceGateway(
  backendUrl: string,
  prefix: string,
  approvals: Record<string, unknown>,
): Promise<{ gw: TestGateway; operators: Operators }> {
  const operators = { alice: generateApiKey(), bob: generateApiKey(), owner: generateApiKey() };
  const policyFile = await writePolicy(POLICY);
  const gw = await startTestGateway(
    {
      connectors: [{ id: 'pay', kind: 'http', baseUrl: backendUrl, tools: [refundTool] }],
      egress: { connectors: { pay: { allowPrivate: ['127.0.0.1/32'] } } },
      policy: { files: [policyFile], watch: false },
      stores: { kind: 'redis', url: REDIS_URL, prefix },
      operators: [
        { id: 'alice', roles: ['approver'], tokens: [{ sha256: digestApiKey(operators.alice) }] },
        { id: 'bob', roles: ['approver'], tokens: [{ sha256: digestApiKey(operators.bob) }] },
        { id: 'owner', roles: ['approver'], tokens: [{ sha256: digestApiKey(operators.owner) }] },
      ],
      approvals,
    },
    [{ id: 'finance-bot', owners: ['owner'] }],
  );
  return { gw, operators };
}

type Backend = Awaited<ReturnType<typeof startHttpBackend>>;

/** One finance gateway on a fresh Redis prefix per describe block, torn down and cleaned after it. */
function financeSuite(
  approvals: Record<string, unknown>,
  set: (started: { backend: Backend; gw: TestGateway; operators: Operators }) => void,
): void {
  const prefix = freshPrefix();
  let started: { backend: Backend; gw: TestGateway; operators: Operators } | undefined;
  before(async () => {
    const backend = await startHttpBackend();
    const { gw, operators } = await startFinanceGateway(backend.url, prefix, approvals);
    started = { backend, gw, operators };
    set(started);
  });
  after(async () => {
    await started?.gw.close();
    await started?.backend.close();
    await deleteKeys(prefix);
  });
}

describe('operator-approved elevation (Redis)', () => {
  let backend: Backend;
  let gw: TestGateway;
  let operators: Operators;
  financeSuite(
    { mode: 'wait', waitSeconds: 20, pendingTtlSeconds: 60 },
    (started) => ({ backend, gw, operators } = started),
  );

  const refunds = () => backend.requests.filter((r) => r.url === '/refunds');

  it('lets a small refund through without approval', async () => {
    const client = await gw.connect('finance-bot');
    const before = refunds().length;
    const result = await client.callTool({ name: 'pay_refund', arguments: { order: 'A-1', amount: 20 } });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(refunds().length, before + 1);
  });

  it('waits for an operator, who approves through the CLI; the backend receives exactly the approved call', async () => {
    const client = await gw.connect('finance-bot');
    const before = refunds().length;
    const progress: string[] = [];
    const call = client.callTool({ name: 'pay_refund', arguments: { order: 'A-2', amount: 250 } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
      timeout: 30_000,
    });
    const [ticket] = await waitForPending(gw, operators.alice);
    assert.deepEqual(ticket!.args, { order: 'A-2', amount: 250 });
    assert.equal(refunds().length, before, 'nothing reached the backend while pending');
    const shown = await cli(gw, operators.alice, 'show', ticket!.id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /pay_refund/);
    const approved = await cli(gw, operators.alice, 'approve', ticket!.id, '--reason', 'customer verified');
    assert.equal(approved.code, 0, approved.stderr);
    const result = await call;
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const seen = refunds().slice(before);
    assert.equal(seen.length, 1);
    assert.deepEqual(JSON.parse(seen[0]!.body), { order: 'A-2', amount: 250 });
    assert.ok(
      progress.some((m) => m.includes(ticket!.id)),
      'progress notifications name the request',
    );
  });

  it('returns the operator reason on denial and sends nothing', async () => {
    const client = await gw.connect('finance-bot');
    const before = refunds().length;
    const call = client.callTool({ name: 'pay_refund', arguments: { order: 'A-3', amount: 300 } }, undefined, {
      timeout: 30_000,
    });
    const [ticket] = await waitForPending(gw, operators.bob);
    const missingReason = await cli(gw, operators.bob, 'deny', ticket!.id, '--reason', '');
    assert.notEqual(missingReason.code, 0, 'a reason is required to deny');
    const denied = await cli(gw, operators.bob, 'deny', ticket!.id, '--reason', 'duplicate of A-2');
    assert.equal(denied.code, 0, denied.stderr);
    const result = await call;
    assert.equal(result.isError, true);
    assert.equal(result._meta?.['portcullis/code'], 'APPROVAL_DENIED');
    assert.match(JSON.stringify(result.content), /duplicate of A-2/);
    assert.equal(refunds().length, before);
  });

  it('refuses self-approval by the agent owner', async () => {
    const client = await gw.connect('finance-bot');
    const call = client.callTool({ name: 'pay_refund', arguments: { order: 'A-4', amount: 400 } }, undefined, {
      timeout: 30_000,
    });
    const [ticket] = await waitForPending(gw, operators.owner);
    const self = await cli(gw, operators.owner, 'approve', ticket!.id, '--reason', 'mine');
    assert.equal(self.code, 1);
    assert.match(self.stderr, /SELF_APPROVAL/);
    await cli(gw, operators.alice, 'deny', ticket!.id, '--reason', 'cleanup');
    const result = await call;
    assert.equal(result._meta?.['portcullis/code'], 'APPROVAL_DENIED');
  });

  it('requires two distinct approvers when the rule says so', async () => {
    const client = await gw.connect('finance-bot');
    const before = refunds().length;
    const call = client.callTool({ name: 'pay_refund', arguments: { order: 'A-5', amount: 20000 } }, undefined, {
      timeout: 30_000,
    });
    const [ticket] = await waitForPending(gw, operators.alice);
    assert.equal((await cli(gw, operators.alice, 'approve', ticket!.id)).code, 0);
    const again = await fetch(`${gw.gateway.baseUrl}/v1/approvals/${ticket!.id}`, {
      headers: { authorization: `Bearer ${operators.alice}` },
    });
    assert.equal(((await again.json()) as { status: string }).status, 'pending', 'one approval is not enough');
    assert.equal(refunds().length, before);
    assert.equal((await cli(gw, operators.bob, 'approve', ticket!.id)).code, 0);
    const result = await call;
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(refunds().length, before + 1);
  });

  it('audits the request, the decision and the grant use', async () => {
    const records = await readAudit(gw.auditFile);
    assert.ok(records.some((r) => r['event'] === 'approval.decision' && r['actor'] === 'alice'));
    assert.ok(
      records.some(
        (r) => r['event'] === 'tool.call' && r['decision'] === 'allow' && typeof r['approvalId'] === 'string',
      ),
    );
  });
});

describe('retry mode, grants bound to the exact call, expiry', () => {
  let backend: Backend;
  let gw: TestGateway;
  let operators: Operators;
  financeSuite(
    { mode: 'return', pendingTtlSeconds: 60, offerRequestTool: true },
    (started) => ({ backend, gw, operators } = started),
  );

  it('answers APPROVAL_PENDING, finds the same request on retry, and runs only the approved arguments', async () => {
    const client = await gw.connect('finance-bot');
    const before = backend.requests.length;
    const first = await client.callTool({ name: 'pay_refund', arguments: { order: 'B-1', amount: 500 } });
    assert.equal(first._meta?.['portcullis/code'], 'APPROVAL_PENDING');
    const id = first._meta?.['portcullis/approvalId'];
    assert.equal(typeof id, 'string');
    const retry = await client.callTool({ name: 'pay_refund', arguments: { order: 'B-1', amount: 500 } });
    assert.equal(retry._meta?.['portcullis/approvalId'], id, 'a retry finds the same request');
    assert.equal((await cli(gw, operators.alice, 'approve', String(id))).code, 0);
    const changed = await client.callTool({ name: 'pay_refund', arguments: { order: 'B-1', amount: 5000 } });
    assert.equal(changed._meta?.['portcullis/code'], 'APPROVAL_PENDING', 'changed arguments are not covered');
    assert.notEqual(changed._meta?.['portcullis/approvalId'], id);
    assert.equal(backend.requests.length, before);
    const approved = await client.callTool({ name: 'pay_refund', arguments: { order: 'B-1', amount: 500 } });
    assert.notEqual(approved.isError, true, JSON.stringify(approved));
    assert.deepEqual(JSON.parse(backend.requests.at(-1)!.body), { order: 'B-1', amount: 500 });
    const replay = await client.callTool({ name: 'pay_refund', arguments: { order: 'B-1', amount: 500 } });
    assert.equal(replay._meta?.['portcullis/code'], 'APPROVAL_PENDING', 'a call grant is used once');
    assert.equal(backend.requests.length, before + 1);
  });

  it('lets an agent ask ahead of time with a justification, then make the approved call', async () => {
    const client = await gw.connect('finance-bot');
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'portcullis_request_elevation'));
    const before = backend.requests.length;
    const asked = await client.callTool({
      name: 'portcullis_request_elevation',
      arguments: {
        tool: 'pay_refund',
        arguments: { order: 'D-1', amount: 900 },
        justification: 'customer escalation #881',
      },
    });
    assert.equal(asked._meta?.['portcullis/code'], 'APPROVAL_PENDING');
    const id = String(asked._meta?.['portcullis/approvalId']);
    assert.equal(backend.requests.length, before, 'asking runs nothing');
    const shown = await cli(gw, operators.alice, 'show', id);
    assert.match(shown.stdout, /customer escalation #881/);
    assert.equal((await cli(gw, operators.alice, 'approve', id)).code, 0);
    const result = await client.callTool({ name: 'pay_refund', arguments: { order: 'D-1', amount: 900 } });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(backend.requests.length, before + 1);
  });
});

describe('expiry of pending requests', () => {
  let gw: TestGateway;
  let operators: Operators;
  financeSuite({ mode: 'return', pendingTtlSeconds: 1 }, (started) => ({ gw, operators } = started));

  it('expires pending requests', async () => {
    const client = await gw.connect('finance-bot');
    const first = await client.callTool({ name: 'pay_refund', arguments: { order: 'C-1', amount: 700 } });
    const id = String(first._meta?.['portcullis/approvalId']);
    await new Promise((r) => setTimeout(r, 1500));
    const response = await fetch(`${gw.gateway.baseUrl}/v1/approvals/${id}`, {
      headers: { authorization: `Bearer ${operators.alice}` },
    });
    assert.equal(((await response.json()) as { status: string }).status, 'expired');
    const late = await cli(gw, operators.alice, 'approve', id);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /NOT_PENDING/);
  });
});
