/**
 * State that survives the state store losing its data: a redis-server of the test's own is killed under a
 * running gateway process and started again WITHOUT persistence (empty). What denies must read as unknown
 * (refused, STORE_UNAVAILABLE) until it is rebuilt from the audit log, and after the rebuild: the disabled
 * agent stays denied and nothing of it reaches the backend, the revoked credential stays revoked, the ended
 * task stays ended, and the agent waiting on an approval whose request was lost is told APPROVAL_LOST
 * (operators see the request as lost). With AOF nothing is lost and nothing needs rebuilding.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/index.js';
import { createJsonlAuditSink, verifyAuditLog } from '../../gateway/services/audit/index.js';
import { emptyDenyState } from '../../gateway/services/recovery/index.js';
import { applyDenyState, openStores, type EpochEvent } from '../../gateway/stores/index.js';
import { startHttpBackend, TEXT_TOOL } from '../fixtures/http-backend.js';
import { cliArgs, REPO_ROOT, startGatewayProcess, type GatewayProcess } from '../fixtures/gateway-process.js';
import { INITIALIZE, rawPost, readAudit } from '../helpers/gateway.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisProcess, type RedisProcess } from './redis-process.js';

const operatorToken = 'store-loss-operator-token-0123456789';
const keys = { bot: generateApiKey(), victim: generateApiKey(), waiter: generateApiKey() };

const tools = [
  TEXT_TOOL,
  {
    name: 'refund',
    method: 'POST',
    path: '/refunds',
    inputSchema: { type: 'object', properties: { order: { type: 'string' } }, additionalProperties: false },
    body: { args: ['order'] },
  },
];

function gatewayConfig(backendUrl: string, redisUrl: string, prefix: string, automatic: boolean) {
  return async (dir: string): Promise<Record<string, unknown>> => {
    const policy = path.join(dir, 'policy.yaml');
    await writeFile(
      policy,
      stringify({
        version: 1,
        name: 'refunds',
        rules: [{ id: 'refunds-need-approval', effect: 'approve', tools: ['api_refund'] }],
      }),
    );
    return {
      listen: { host: '127.0.0.1', port: 0 },
      audit: { file: path.join(dir, 'audit.jsonl') },
      policy: { files: [policy], watch: false },
      connectors: [{ id: 'api', kind: 'http', baseUrl: backendUrl, tools }],
      egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      stores: { kind: 'redis', url: redisUrl, prefix, recovery: { automatic } },
      approvals: { mode: 'wait', waitSeconds: 60 },
      agents: [
        { id: 'bot', apiKeys: [{ sha256: digestApiKey(keys.bot) }], tools: ['api_text'] },
        { id: 'victim', apiKeys: [{ sha256: digestApiKey(keys.victim) }], tools: ['api_text'] },
        { id: 'waiter', apiKeys: [{ sha256: digestApiKey(keys.waiter) }] },
      ],
      operators: [
        { id: 'olga', roles: ['admin', 'approver', 'viewer'], tokens: [{ sha256: digestApiKey(operatorToken) }] },
      ],
    };
  };
}

/**
 * The status of opening a session with this credential. A request made just as readiness turns 200 again can
 * still find the store not answering, which fails closed with 503: that answer is asked again, for up to ten
 * seconds, until the store answers and the credential itself is judged.
 */
async function openStatus(gw: GatewayProcess, credential: string): Promise<number> {
  let status = 0;
  await waitFor(async () => {
    const response = await rawPost(gw.mcpUrl, INITIALIZE, { authorization: `Bearer ${credential}` });
    await response.text();
    status = response.status;
    return status !== 503;
  }, 10_000);
  return status;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

async function operator(gw: GatewayProcess, method: string, route: string, body?: unknown) {
  const response = await fetch(`${gw.baseUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${operatorToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function readyz(gw: GatewayProcess): Promise<{ status: number; reason?: string }> {
  const response = await fetch(`${gw.baseUrl}/readyz`, { headers: { authorization: `Bearer ${operatorToken}` } });
  const body = (await response.json()) as { reason?: string };
  return { status: response.status, ...(body.reason !== undefined ? { reason: body.reason } : {}) };
}

/** The call's outcome code as the agent sees it: a tool result code, or the HTTP refusal's JSON-RPC data code. */
async function callCode(client: Client, name = 'api_text', args: Record<string, unknown> = {}) {
  try {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 });
    if (result.isError !== true) return 'ok';
    return (result._meta as Record<string, unknown>)['portcullis/code'] as string;
  } catch (error) {
    const match = /"code":"([A-Z_]+)"/.exec(String((error as Error).message));
    return match?.[1] ?? `thrown: ${(error as Error).message}`;
  }
}

async function openTask(gw: GatewayProcess, key: string): Promise<{ id: string; token: string; jti: string }> {
  const response = await fetch(`${gw.baseUrl}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ intent: 'nightly report', ttlSeconds: 600 }),
  });
  assert.equal(response.status, 201);
  const body = (await response.json()) as { task: { id: string }; token: string };
  const payload = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
  return { id: body.task.id, token: body.token, jti: payload.jti };
}

function runCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, cliArgs(...args), {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('state store lost its data (restart without persistence), automatic rebuild', () => {
  let redis: RedisProcess;
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: GatewayProcess;
  let inspect: Redis;
  const prefix = freshPrefix();

  before(async () => {
    redis = await startRedisProcess({ persist: false });
    backend = await startHttpBackend();
    gw = await startGatewayProcess({ config: gatewayConfig(backend.url, redis.url, prefix, true) });
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    inspect.on('error', () => undefined);
  });
  after(async () => {
    inspect?.disconnect();
    await gw?.close().catch(() => undefined);
    await backend?.close();
    await redis?.close();
  });

  it('keeps every kill switch, ends lost approvals with APPROVAL_LOST, and serves again', async () => {
    const victim = (await gw.connect(keys.victim)).client;
    const bot = (await gw.connect(keys.bot)).client;
    const waiter = (await gw.connect(keys.waiter)).client;
    assert.equal(await callCode(victim), 'ok');
    assert.equal((await operator(gw, 'POST', '/v1/agents/victim/disable', { reason: 'leaked key' })).status, 200);
    const revoked = await openTask(gw, keys.bot);
    assert.equal((await operator(gw, 'POST', `/v1/credentials/${revoked.jti}/revoke`, {})).status, 200);
    const ended = await openTask(gw, keys.bot);
    const end = await fetch(`${gw.baseUrl}/v1/tasks/${ended.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${keys.bot}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'report done' }),
    });
    assert.equal(end.status, 200);
    // An approval request pending when the store loses its data: its agent is waiting for the decision.
    const waiting = callCode(waiter, 'api_refund', { order: 'A-1' });
    assert.ok(
      await waitFor(
        async () =>
          ((await operator(gw, 'GET', '/v1/approvals?status=pending')).json['approvals'] as unknown[]).length === 1,
        10_000,
      ),
    );
    const reached = backend.requests.length;

    await redis.kill();
    const back = performance.now();
    await redis.start({ persist: false });
    // Readiness can still say 200 in the moment before the loss is noticed, so wait for the rebuild's own
    // record first, then for readiness.
    const auditFile = path.join(gw.dir, 'audit.jsonl');
    assert.ok(
      await waitFor(
        async () =>
          // A line being appended may be read half-written; the next poll reads it whole.
          (await readAudit(auditFile).catch(() => [])).some((r) => r['event'] === 'store.recovered'),
        20_000,
      ),
      'the loss is noticed and the state rebuilt',
    );
    assert.ok(await waitFor(async () => (await readyz(gw)).status === 200, 20_000), 'ready again after the rebuild');
    const readyAfter = Math.round(performance.now() - back);

    // The disabled agent stays denied: its open session and a new one; nothing of it reaches the backend.
    assert.notEqual(await callCode(victim), 'ok');
    assert.equal(await openStatus(gw, keys.victim), 403);
    // The revoked task token and the ended task's token stay refused.
    for (const token of [revoked.token, ended.token]) {
      assert.equal(await openStatus(gw, token), 401, `a ${token === revoked.token ? 'revoked' : 'ended'} task's token`);
    }
    assert.equal(await inspect.exists(`${prefix}revoked:jti:${revoked.jti}`), 1);
    const endedTask = await inspect.hgetall(`${prefix}task:${ended.id}`);
    assert.equal(endedTask['endReason'], 'report done');
    // The agent that waited on the lost request is told, with its own code.
    assert.equal(await waiting, 'APPROVAL_LOST');
    const lost = (await operator(gw, 'GET', '/v1/approvals?status=lost')).json['approvals'] as {
      status: string;
      agentId: string;
    }[];
    assert.deepEqual(
      lost.map((l) => [l.status, l.agentId]),
      [['lost', 'waiter']],
    );
    assert.equal(
      backend.requests.length,
      reached,
      'nothing reached the backend for the denied agent or the lost request',
    );

    // An agent that is not disabled works again in a new session (its session's task was lost with the store).
    const start = performance.now();
    const fresh = (await gw.connect(keys.bot)).client;
    assert.equal(await callCode(fresh), 'ok');
    const firstCall = Math.round(performance.now() - start);
    assert.equal(await callCode(bot), 'TASK_ENDED', 'a task lost with the store reads as ended, never as live');
    assert.equal(backend.requests.length, reached + 1);
    console.log(
      `store loss, automatic rebuild: ready ${readyAfter} ms after Redis returned; first call ${firstCall} ms`,
    );

    const records = await readAudit(path.join(gw.dir, 'audit.jsonl'));
    assert.equal(records.filter((r) => r['event'] === 'store.lost').length, 1);
    const recovered = records.filter((r) => r['event'] === 'store.recovered').at(-1);
    assert.equal((recovered?.['detail'] as { how?: string } | undefined)?.how, 'rebuilt');
    assert.equal((recovered?.['detail'] as { disabledAgents?: number }).disabledAgents, 1);
    assert.equal((await verifyAuditLog(path.join(gw.dir, 'audit.jsonl'))).ok, true);
  });
});

describe('rebuild writes only what denies, never over newer state', () => {
  let redis: RedisProcess;
  let client: Redis;
  const prefix = freshPrefix();
  before(async () => {
    redis = await startRedisProcess({ persist: false });
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    client?.disconnect();
    await redis?.close();
  });

  it('restores trusted tool hashes and kill switches without overwriting what was written since', async () => {
    const state = emptyDenyState();
    state.pins.set('crm\u0000find', { connector: 'crm', tool: 'find', hash: 'h-old', pinnedAt: Date.now() - 1000 });
    state.pins.set('crm\u0000list', { connector: 'crm', tool: 'list', hash: 'h-list', pinnedAt: Date.now() - 1000 });
    state.disabledAgents.set('bot', Date.now() - 1000);
    state.tasks.set('t-new', {
      id: 't-new',
      agentId: 'bot',
      intent: 'x',
      createdAt: Date.now() - 1000,
      expiresAt: Date.now() + 60_000,
    });
    // Written since the loss: a pin approved by an operator, and a task opened on the empty store.
    await client.hset(`${prefix}tool-pins`, 'crm\u0000find', JSON.stringify({ hash: 'h-approved' }));
    await client.hset(`${prefix}task:t-new`, 'agentId', 'bot', 'intent', 'x', 'expiresAt', String(Date.now() + 60_000));
    const counts = await applyDenyState({ redis: client, prefix, pendingTtlMs: 900_000 }, state);
    assert.deepEqual([counts.toolPins, counts.disabledAgents, counts.tasks], [2, 1, 1]);
    const pins = await client.hgetall(`${prefix}tool-pins`);
    assert.equal((JSON.parse(pins['crm\u0000find']!) as { hash: string }).hash, 'h-approved');
    assert.equal((JSON.parse(pins['crm\u0000list']!) as { hash: string }).hash, 'h-list');
    assert.equal(await client.exists(`${prefix}disabled:agent:bot`), 1);
    assert.equal(await client.hget(`${prefix}task:t-new`, 'endedAt'), null, 'a task opened since stays live');
  });
});

describe('automatic rebuild of a store that lost its data, from records the audit sink had not written yet', () => {
  let redis: RedisProcess;
  let dir: string;
  before(async () => {
    redis = await startRedisProcess({ persist: false });
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-rebuild-flush-'));
  });
  after(async () => {
    await redis?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes the audit sink write what it accepted before reading its log: a kill switch of a moment before holds', async () => {
    const auditFile = path.join(dir, 'audit.jsonl');
    // A deferrable record waits (here up to a minute) for company before its write: accepted, not on disk.
    const sink = await createJsonlAuditSink({ file: auditFile, durability: 'per-record', deferMs: 60_000 });
    const events: EpochEvent[] = [];
    const stores = await openStores(
      { kind: 'redis', url: redis.url, prefix: freshPrefix(), recovery: { automatic: true, auditFiles: [] } },
      { env: {}, baseDir: dir, auditFile, flushAudit: () => sink.flush(), onEpochEvent: (e) => events.push(e) },
    );
    events.length = 0; // the first start initialises the store
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const accepted = sink.append(
        { event: 'agent.disable', decision: 'deny', agentId: 'victim', actor: 'operator', reason: 'leaked key' },
        { deferrable: true },
      );
      assert.equal((await readFile(auditFile, 'utf8')).includes('victim'), false, 'not written yet');
      // The store loses its data; the next read that can deny notices it and refuses until the rebuild.
      await admin.flushall();
      await assert.rejects(stores.revocation.isAgentDisabled('victim'), { name: 'StoreUnavailableError' });
      assert.ok(
        await waitFor(async () => events.some((e) => e.kind === 'recovered' || e.kind === 'rebuild-failed'), 10_000),
      );
      assert.deepEqual(
        events.map((e) => e.kind),
        ['lost', 'recovered'],
      );
      assert.equal(await stores.revocation.isAgentDisabled('victim'), true, 'the kill switch survived the loss');
      await accepted;
      assert.equal((await readFile(auditFile, 'utf8')).includes('victim'), true);
    } finally {
      admin.disconnect();
      await stores.close();
      await sink.close();
    }
  });

  it('does not rebuild while the audit sink cannot write what it accepted: the store stays closed, then recovers', async () => {
    const auditFile = path.join(dir, 'audit-unwritable.jsonl');
    const sink = await createJsonlAuditSink({ file: auditFile, durability: 'per-record', deferMs: 60_000 });
    let writable = false;
    const events: EpochEvent[] = [];
    const stores = await openStores(
      { kind: 'redis', url: redis.url, prefix: freshPrefix(), recovery: { automatic: true, auditFiles: [] } },
      {
        env: {},
        baseDir: dir,
        auditFile,
        flushAudit: () => (writable ? sink.flush() : Promise.reject(new Error('audit log unavailable: disk full'))),
        onEpochEvent: (e) => events.push(e),
      },
    );
    events.length = 0;
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const accepted = sink.append(
        { event: 'agent.disable', decision: 'deny', agentId: 'victim-2', actor: 'operator', reason: 'leaked key' },
        { deferrable: true },
      );
      await admin.flushall();
      await assert.rejects(stores.revocation.isAgentDisabled('victim-2'), { name: 'StoreUnavailableError' });
      assert.ok(await waitFor(async () => events.some((e) => e.kind === 'rebuild-failed'), 10_000));
      assert.equal(
        events.some((e) => e.kind === 'recovered'),
        false,
        'no rebuild from a log missing what it accepted',
      );
      // Still closed: a read that can deny is refused rather than answered from a store without the kill switch.
      await assert.rejects(stores.revocation.isAgentDisabled('victim-2'), { name: 'StoreUnavailableError' });
      writable = true;
      assert.ok(await waitFor(async () => events.some((e) => e.kind === 'recovered'), 10_000));
      assert.equal(await stores.revocation.isAgentDisabled('victim-2'), true, 'the kill switch survived the loss');
      await accepted;
    } finally {
      admin.disconnect();
      await stores.close();
      await sink.close();
    }
  });
});

describe('state store lost its data, manual rebuild (portcullis store rebuild)', () => {
  let redis: RedisProcess;
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: GatewayProcess;
  const prefix = freshPrefix();

  before(async () => {
    redis = await startRedisProcess({ persist: false });
    backend = await startHttpBackend();
    gw = await startGatewayProcess({ config: gatewayConfig(backend.url, redis.url, prefix, false) });
  });
  after(async () => {
    await gw?.close().catch(() => undefined);
    await backend?.close();
    await redis?.close();
  });

  it('refuses as unknown until an operator rebuilds, then keeps the kill switch', async () => {
    // Manual recovery: a store without an epoch is not trusted even at first start.
    assert.match((await readyz(gw)).reason ?? '', /lost its data/);
    const initial = await runCli('store', 'rebuild', '--config', gw.configFile);
    assert.equal(initial.code, 0, initial.stderr);
    assert.ok(await waitFor(async () => (await readyz(gw)).status === 200, 10_000));

    const victim = (await gw.connect(keys.victim)).client;
    const bot = (await gw.connect(keys.bot)).client;
    assert.equal(await callCode(victim), 'ok');
    assert.equal((await operator(gw, 'POST', '/v1/agents/victim/disable', { reason: 'leaked key' })).status, 200);
    const reached = backend.requests.length;

    await redis.kill();
    await redis.start({ persist: false });
    assert.ok(
      await waitFor(async () => /lost its data/.test((await readyz(gw)).reason ?? ''), 10_000),
      'readiness names the loss',
    );
    // Unknown, not empty: the disabled agent is refused as an outage, and so is everyone else.
    assert.equal(await callCode(victim), 'STORE_UNAVAILABLE');
    assert.equal(await callCode(bot), 'STORE_UNAVAILABLE');
    const reopen = await rawPost(gw.mcpUrl, INITIALIZE, { authorization: `Bearer ${keys.victim}` });
    assert.equal(reopen.status, 503);
    assert.equal(((await reopen.json()) as { error: { data: { code: string } } }).error.data.code, 'STORE_UNAVAILABLE');
    assert.equal(backend.requests.length, reached);

    const rebuild = await runCli('store', 'rebuild', '--config', gw.configFile);
    assert.equal(rebuild.code, 0, rebuild.stderr);
    assert.match(rebuild.stdout, /disabled agents: 1/);
    const start = performance.now();
    assert.ok(await waitFor(async () => (await readyz(gw)).status === 200, 10_000));
    console.log(`store loss, manual rebuild: ready ${Math.round(performance.now() - start)} ms after the command`);
    assert.notEqual(await callCode(victim), 'ok');
    const again = await rawPost(gw.mcpUrl, INITIALIZE, { authorization: `Bearer ${keys.victim}` });
    assert.equal(again.status, 403);
    await again.text();
    assert.equal(backend.requests.length, reached);
    const fresh = (await gw.connect(keys.bot)).client;
    assert.equal(await callCode(fresh), 'ok');

    const records = await readAudit(path.join(gw.dir, 'audit.jsonl'));
    assert.ok(records.some((r) => r['event'] === 'store.lost'));
    assert.equal((await verifyAuditLog(path.join(gw.dir, 'audit.jsonl'))).ok, true);
  });
});

describe('state store restarted with AOF', () => {
  let redis: RedisProcess;
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: GatewayProcess;
  const prefix = freshPrefix();

  before(async () => {
    redis = await startRedisProcess({ persist: true });
    backend = await startHttpBackend();
    gw = await startGatewayProcess({ config: gatewayConfig(backend.url, redis.url, prefix, true) });
  });
  after(async () => {
    await gw?.close().catch(() => undefined);
    await backend?.close();
    await redis?.close();
  });

  it('loses nothing: no rebuild, the kill switch and live sessions carry on', async () => {
    const victim = (await gw.connect(keys.victim)).client;
    const bot = (await gw.connect(keys.bot)).client;
    assert.equal((await operator(gw, 'POST', '/v1/agents/victim/disable', {})).status, 200);
    const reached = backend.requests.length;
    await redis.kill();
    const back = performance.now();
    await redis.start({ persist: true });
    assert.ok(await waitFor(async () => (await callCode(bot)) === 'ok', 10_000));
    console.log(`store restart with AOF: calls served ${Math.round(performance.now() - back)} ms after Redis returned`);
    assert.notEqual(await callCode(victim), 'ok');
    assert.equal(backend.requests.length, reached + 1);
    const records = await readAudit(path.join(gw.dir, 'audit.jsonl'));
    assert.equal(records.filter((r) => r['event'] === 'store.lost').length, 0);
  });
});
