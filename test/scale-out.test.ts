/**
 * Scale-out without stickiness: two gateway instances sharing one Redis, behind a round-robin proxy that
 * sends each request to the other instance. One 2026-07-28 agent does its whole flow through the proxy
 * (discover, list, calls, an approval decided on the other instance, an `input_required` round resumed on
 * the other instance, and a `subscriptions/listen` stream on one instance hearing a list change the other
 * instance saw). Which instance served each request is read from the proxy's own log.
 *
 * Then: a retry reaching the instance that does not hold the call is checked there before anything is
 * relayed; a retry whose holding instance stopped gets STATE_NOT_HELD; and a listen stream whose instance
 * stops hearing the others ends with STORE_UNAVAILABLE instead of going deaf.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { parseConfigText } from '../gateway/config/load.js';
import { silentLogger } from '../gateway/kernel/log.js';
import { startGateway, type RunningGateway } from '../gateway/main.js';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './fixtures/round-robin-proxy.js';
import { modernListen, modernPost, type ModernAnswer } from './helpers/modern.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

const agentKey = generateApiKey();
const operatorToken = generateApiKey();
const stateKey = randomBytes(32).toString('base64url');
const TASK_HANDLE = 'portcullis/task';
const elicitation = { elicitation: {} };

interface Instance {
  gateway: RunningGateway;
  dir: string;
}

async function startInstance(upstreamUrl: string, prefix: string): Promise<Instance> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-scale-'));
  const policy = path.join(dir, 'policy.yaml');
  await writeFile(
    policy,
    stringify({
      version: 1,
      name: 'scale',
      rules: [
        { id: 'adding-needs-approval', effect: 'approve', tools: ['remote_add'] },
        { id: 'the-rest', effect: 'allow', tools: ['remote_*'] },
      ],
    }),
  );
  const text = stringify({
    listen: { host: '127.0.0.1', port: 0 },
    audit: { file: path.join(dir, 'audit.jsonl') },
    policy: { files: [policy], watch: false },
    connectors: [{ id: 'remote', kind: 'mcp', transport: 'http', url: upstreamUrl }],
    egress: { connectors: { remote: { allowPrivate: ['127.0.0.1/32'] } } },
    stores: { kind: 'redis', url: REDIS_URL, prefix },
    approvals: { mode: 'return' },
    credentials: { stateSealingKey: 'env:STATE_KEY' },
    agents: [{ id: 'agent', tools: ['remote_*'], apiKeys: [{ sha256: digestApiKey(agentKey) }] }],
    operators: [{ id: 'olga', roles: ['approver'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
  });
  const file = path.join(dir, 'portcullis.yaml');
  await writeFile(file, text);
  const gateway = await startGateway({
    loaded: parseConfigText(text, file),
    env: { STATE_KEY: stateKey },
    logger: silentLogger(),
  });
  return { gateway, dir };
}

async function stopInstance(instance: Instance | undefined): Promise<void> {
  if (instance === undefined) return;
  await instance.gateway.close().catch(() => undefined);
  await rm(instance.dir, { recursive: true, force: true });
}

describe('two instances on one Redis behind a round-robin proxy', () => {
  let upstream: UpstreamHttp;
  let proxy: RoundRobinProxy;
  const instances: Instance[] = [];
  const prefix = freshPrefix();
  let mcp: string;
  let handle: string | undefined;

  before(async () => {
    upstream = await startUpstreamHttp();
    instances.push(await startInstance(upstream.url, prefix), await startInstance(upstream.url, prefix));
    proxy = await startRoundRobinProxy(instances.map((i) => i.gateway.baseUrl));
    mcp = `${proxy.url}/mcp`;
  });
  after(async () => {
    await proxy?.close();
    for (const instance of instances) await stopInstance(instance);
    await upstream?.close();
    await deleteKeys(prefix);
  });

  /** One request through the proxy; returns the answer and the instance the proxy sent it to. */
  async function viaProxy(
    method: string,
    params: Record<string, unknown> = {},
    capabilities: Record<string, unknown> = {},
  ): Promise<{ answer: ModernAnswer; served: number }> {
    const entries = proxy.log.length;
    const answer = await modernPost(mcp, method, params, {
      key: agentKey,
      capabilities,
      ...(handle !== undefined ? { meta: { [TASK_HANDLE]: handle } } : {}),
    });
    const entry = proxy.log[entries];
    assert.ok(entry !== undefined && entry.mcpMethod === method, 'the proxy logged the request');
    const returned = (answer.body.result?.['_meta'] as Record<string, unknown> | undefined)?.[TASK_HANDLE];
    if (typeof returned === 'string') handle = returned;
    return { answer, served: entry.target };
  }

  it("serves one agent's whole flow from either instance", { timeout: 120_000 }, async () => {
    const discover = await viaProxy('server/discover');
    assert.equal(discover.answer.status, 200);
    assert.equal(discover.answer.headers.get('mcp-session-id'), null);
    const list = await viaProxy('tools/list');
    assert.notEqual(list.served, discover.served, 'the next request went to the other instance');
    const names = (list.answer.body.result?.['tools'] as { name: string }[]).map((t) => t.name);
    assert.ok(names.includes('remote_echo') && names.includes('remote_ask_user'));

    const echo = await viaProxy('tools/call', { name: 'remote_echo', arguments: { text: 'hello' } });
    assert.match(JSON.stringify(echo.answer.body.result?.['content']), /hello/);
    assert.equal(typeof handle, 'string', 'the agent holds a task handle from here on');

    // An approval: asked on one instance, decided through the other's operator API, retried on a third turn.
    const add = { name: 'remote_add', arguments: { a: 2, b: 3 } };
    const asked = await viaProxy('tools/call', add);
    const askedMeta = asked.answer.body.result?.['_meta'] as Record<string, unknown> | undefined;
    assert.equal(askedMeta?.['portcullis/code'], 'APPROVAL_PENDING', JSON.stringify(asked.answer.body));
    const approvalId = String(askedMeta?.['portcullis/approvalId']);
    const decider = instances[1 - asked.served]!;
    const decided = await fetch(`${decider.gateway.baseUrl}/v1/approvals/${approvalId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'fine' }),
    });
    assert.equal(decided.status, 200, await decided.clone().text());
    const added = await viaProxy('tools/call', add);
    assert.notEqual(added.served, asked.served, 'the retry reached the instance that did not ask');
    assert.notEqual(added.answer.body.result?.['isError'], true, JSON.stringify(added.answer.body));
    assert.match(JSON.stringify(added.answer.body.result?.['content']), /5/);

    // An input_required round, resumed on the instance that does not hold the call.
    const ask = { name: 'remote_ask_user', arguments: {} };
    const round = await viaProxy('tools/call', ask, elicitation);
    assert.equal(round.answer.body.result?.['resultType'], 'input_required', JSON.stringify(round.answer.body));
    const requestState = round.answer.body.result?.['requestState'] as string;
    const inputResponses = { 'input-1': { action: 'accept', content: { name: 'Alice' } } };
    const resumed = await viaProxy('tools/call', { ...ask, inputResponses, requestState }, elicitation);
    assert.notEqual(resumed.served, round.served, 'the retry reached the other instance');
    assert.match(JSON.stringify(resumed.answer.body.result?.['content']), /Alice/, JSON.stringify(resumed.answer));
    // The state was used once, wherever it went: a replay on the holder is refused.
    const replay = await viaProxy('tools/call', { ...ask, inputResponses, requestState }, elicitation);
    assert.equal(replay.served, round.served);
    assert.equal(replay.answer.body.error?.data?.['code'], 'STATE_REUSED');

    // A listen stream on one instance hears a list change only the other instance saw.
    const listenOn = proxy.next();
    const stream = await modernListen(mcp, { toolsListChanged: true }, { key: agentKey });
    try {
      assert.equal(stream.status, 200);
      assert.equal(proxy.log.at(-1)?.target, listenOn);
      await stream.next((m) => m['method'] === 'notifications/subscriptions/acknowledged');
      const mutated = await viaProxy('tools/call', { name: 'remote_mutate_tools', arguments: {} });
      assert.notEqual(mutated.served, listenOn, 'the change happened on the other instance');
      await stream.next((m) => m['method'] === 'notifications/tools/list_changed');
    } finally {
      stream.close();
    }
    assert.deepEqual(
      proxy.log.map((e) => e.target),
      proxy.log.map((_, i) => i % 2),
      'the proxy alternated on every request',
    );
  });
});

describe('retries on another instance, and when sharing fails', () => {
  let upstream: UpstreamHttp;
  const prefix = freshPrefix();
  let a: Instance | undefined;
  let b: Instance | undefined;

  before(async () => {
    upstream = await startUpstreamHttp();
    a = await startInstance(upstream.url, prefix);
    b = await startInstance(upstream.url, prefix);
  });
  after(async () => {
    await stopInstance(a);
    await stopInstance(b);
    await upstream?.close();
    await deleteKeys(prefix);
  });

  it(
    'checks the state on the instance the retry reached before relaying anything to the holder',
    { timeout: 60_000 },
    async () => {
      const ask = { name: 'remote_ask_user', arguments: { message: 'name?' } };
      const options = { key: agentKey, capabilities: elicitation };
      const round = await modernPost(a!.gateway.mcpUrl, 'tools/call', ask, options);
      assert.equal(round.body.result?.['resultType'], 'input_required');
      const requestState = round.body.result?.['requestState'] as string;
      const inputResponses = { 'input-1': { action: 'accept', content: { name: 'Carol' } } };
      const [prefixPart, body, mac] = requestState.split('.');
      const forged = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
      forged['keys'] = ['input-1', 'input-2'];
      const tampered = `${prefixPart}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`;
      const refusals = [
        { params: { ...ask, inputResponses, requestState: tampered }, code: 'STATE_INVALID' },
        {
          params: { name: 'remote_ask_user', arguments: { message: 'other' }, inputResponses, requestState },
          code: 'STATE_MISMATCH',
        },
      ];
      for (const refusal of refusals) {
        const answer = await modernPost(b!.gateway.mcpUrl, 'tools/call', refusal.params, options);
        assert.equal(answer.body.error?.data?.['code'], refusal.code, JSON.stringify(answer.body));
      }
      // Nothing reached the held call: the sound state still resumes it, from the other instance, once.
      const retry = { ...ask, inputResponses, requestState };
      const resumed = await modernPost(b!.gateway.mcpUrl, 'tools/call', retry, options);
      assert.match(JSON.stringify(resumed.body.result?.['content']), /Carol/, JSON.stringify(resumed.body));
      const replay = await modernPost(b!.gateway.mcpUrl, 'tools/call', retry, options);
      assert.equal(replay.body.error?.data?.['code'], 'STATE_REUSED');
    },
  );

  it('a retry whose holding instance stopped is refused with STATE_NOT_HELD', { timeout: 60_000 }, async () => {
    const ask = { name: 'remote_ask_user', arguments: { message: 'who?' } };
    const round = await modernPost(a!.gateway.mcpUrl, 'tools/call', ask, {
      key: agentKey,
      capabilities: elicitation,
    });
    assert.equal(round.body.result?.['resultType'], 'input_required');
    await stopInstance(a);
    a = undefined;
    const retry = await modernPost(
      b!.gateway.mcpUrl,
      'tools/call',
      {
        ...ask,
        inputResponses: { 'input-1': { action: 'accept', content: { name: 'Bob' } } },
        requestState: round.body.result?.['requestState'],
      },
      { key: agentKey, capabilities: elicitation },
    );
    assert.equal(retry.body.error?.data?.['code'], 'STATE_NOT_HELD', JSON.stringify(retry.body));
  });

  it(
    'a listen stream that stops hearing the other instances ends with STORE_UNAVAILABLE',
    { timeout: 60_000 },
    async () => {
      const stream = await modernListen(b!.gateway.mcpUrl, { toolsListChanged: true }, { key: agentKey });
      try {
        await stream.next((m) => m['method'] === 'notifications/subscriptions/acknowledged');
        // Drop this instance's subscribing connection, as a network fault or a Redis restart would.
        const admin = new Redis(REDIS_URL);
        try {
          const name = `portcullis-channels-${b!.gateway.stores.channels!.instanceId}`;
          const clients = (await admin.client('LIST')) as string;
          const id = clients
            .split('\n')
            .find((line) => line.includes(` name=${name} `))
            ?.match(/^id=(\d+)/)?.[1];
          assert.ok(id !== undefined, 'the subscribing connection is listed under its name');
          await admin.client('KILL', 'ID', id);
        } finally {
          admin.disconnect();
        }
        const ended = await stream.next((m) => m['error'] !== undefined);
        assert.equal((ended['error'] as { data?: { code?: string } }).data?.code, 'STORE_UNAVAILABLE');
        await stream.ended;
      } finally {
        stream.close();
      }
      // The connection comes back by itself; then streams are served again (refused with 503 until then).
      let again: Awaited<ReturnType<typeof modernListen>> | undefined;
      for (let attempt = 0; attempt < 100 && again === undefined; attempt += 1) {
        const opened = await modernListen(b!.gateway.mcpUrl, { toolsListChanged: true }, { key: agentKey });
        if (opened.status === 200) again = opened;
        else {
          assert.equal(opened.status, 503);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert.ok(again !== undefined, 'listen streams are served again once the connection is back');
      try {
        await again.next((m) => m['method'] === 'notifications/subscriptions/acknowledged');
      } finally {
        again.close();
      }
    },
  );
});
