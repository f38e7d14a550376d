/**
 * Approvals across gateway processes on one Redis: an agent waits on one process while an operator
 * approves on another; and a process killed (SIGKILL) with a request pending loses nothing: after a restart
 * the request is still there, can be approved, and the agent's retry succeeds.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { startGatewayProcess, type GatewayProcess } from './fixtures/gateway-process.js';

const agentKey = generateApiKey();
const operatorToken = generateApiKey();

function financeConfig(
  backendUrl: string,
  prefix: string,
  approvals: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return async (dir: string): Promise<Record<string, unknown>> => {
    const policy = path.join(dir, 'policy.yaml');
    await writeFile(
      policy,
      stringify({
        version: 1,
        name: 'finance',
        rules: [{ id: 'refunds-need-approval', effect: 'approve', tools: ['pay_refund'] }],
      }),
    );
    return {
      listen: { host: '127.0.0.1', port: 0 },
      connectors: [
        {
          id: 'pay',
          kind: 'http',
          baseUrl: backendUrl,
          tools: [
            {
              name: 'refund',
              method: 'POST',
              path: '/refunds',
              inputSchema: {
                type: 'object',
                properties: { order: { type: 'string' }, amount: { type: 'number' } },
                required: ['order', 'amount'],
                additionalProperties: false,
              },
              body: { args: ['order', 'amount'] },
            },
          ],
        },
      ],
      egress: { connectors: { pay: { allowPrivate: ['127.0.0.1/32'] } } },
      policy: { files: [policy], watch: false },
      stores: { kind: 'redis', url: REDIS_URL, prefix },
      agents: [{ id: 'finance-bot', apiKeys: [{ sha256: digestApiKey(agentKey) }] }],
      operators: [{ id: 'olga', roles: ['approver'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
      approvals,
      audit: { file: path.join(dir, 'audit.jsonl') },
      ...extra,
    };
  };
}

async function api(
  gateway: GatewayProcess,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${gateway.baseUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${operatorToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('approvals across gateway processes (Redis)', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  const processes: GatewayProcess[] = [];
  const prefixes: string[] = [];
  const keyDirs: string[] = [];

  before(async () => {
    backend = await startHttpBackend();
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.close().catch(() => undefined)));
    await backend?.close();
    for (const prefix of prefixes) await deleteKeys(prefix);
    for (const dir of keyDirs) await rm(dir, { recursive: true, force: true });
  });

  it('an agent waits on one process while the operator approves on another', async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const config = financeConfig(backend.url, prefix, { mode: 'wait', waitSeconds: 60 });
    const a = await startGatewayProcess({ config });
    const b = await startGatewayProcess({ config });
    processes.push(a, b);
    const { client } = await a.connect(agentKey);
    const before = backend.requests.length;
    const call = client.callTool({ name: 'pay_refund', arguments: { order: 'X-1', amount: 120 } }, undefined, {
      timeout: 60_000,
    });
    let pending: { id: string }[] = [];
    for (let i = 0; i < 200 && pending.length === 0; i += 1) {
      pending = (await api(b, 'GET', '/v1/approvals?status=pending')).json['approvals'] as { id: string }[];
      if (pending.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(pending.length, 1, 'process B sees the request made on process A');
    assert.equal(backend.requests.length, before);
    const approved = await api(b, 'POST', `/v1/approvals/${pending[0]!.id}/approve`, { reason: 'ok' });
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    const result = await call;
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const seen = backend.requests.slice(before);
    assert.equal(seen.length, 1);
    assert.deepEqual(JSON.parse(seen[0]!.body), { order: 'X-1', amount: 120 });
  });

  it('a killed process loses no pending request; after restart it is approved and the retry succeeds', async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    // Restarts keep the signing key and the issuer name (as a deployment does), so the task token survives.
    const keyDir = await mkdtemp(path.join(tmpdir(), 'portcullis-keys-'));
    keyDirs.push(keyDir);
    const config = financeConfig(
      backend.url,
      prefix,
      { mode: 'return' },
      { credentials: { devKeyDir: keyDir }, http: { publicUrl: 'http://portcullis.test' } },
    );
    const first = await startGatewayProcess({ config });
    processes.push(first);
    const opened = await fetch(`${first.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ intent: 'refund order Y-9', ttlSeconds: 600 }),
    });
    assert.equal(opened.status, 201);
    const { token } = (await opened.json()) as { token: string };
    const { client } = await first.connect(token);
    const asked = await client.callTool({ name: 'pay_refund', arguments: { order: 'Y-9', amount: 75 } });
    assert.equal(asked._meta?.['portcullis/code'], 'APPROVAL_PENDING');
    const id = String(asked._meta?.['portcullis/approvalId']);
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;

    const restarted = await startGatewayProcess({ config });
    processes.push(restarted);
    const shown = await api(restarted, 'GET', `/v1/approvals/${id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json['status'], 'pending', 'the request survived the crash');
    const approved = await api(restarted, 'POST', `/v1/approvals/${id}/approve`, { reason: 'verified' });
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    const before = backend.requests.length;
    const { client: again } = await restarted.connect(token);
    const retry = await again.callTool({ name: 'pay_refund', arguments: { order: 'Y-9', amount: 75 } });
    assert.notEqual(retry.isError, true, JSON.stringify(retry));
    assert.equal(backend.requests.length, before + 1);
    assert.deepEqual(JSON.parse(backend.requests.at(-1)!.body), { order: 'Y-9', amount: 75 });
  });
});
