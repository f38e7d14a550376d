/**
 * Just-in-time credentials through a running gateway: a task opened over the API yields a task token the
 * agent uses on /mcp; a backend that verifies call credentials with `portcullis/verify` accepts the one the
 * gateway minted for the exact operation and nothing else; ending the task or disabling the agent on one
 * gateway instance is refused on another instance sharing Redis, on the next call.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { createCallVerifier } from '../gateway/verify/index.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

interface Received {
  method: string;
  url: string;
  authorization?: string;
  verified?: boolean;
}

/** A real backend that verifies every request's call credential against the gateway's JWKS. */
async function startVerifyingBackend(): Promise<{
  url: string;
  received: Received[];
  setGateway(jwksBase: string, issuer: string): void;
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  let verifier: ReturnType<typeof createCallVerifier> | undefined;
  const app = express();
  app.use((req, res, next) => {
    const entry: Received = {
      method: req.method,
      url: req.originalUrl,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    received.push(entry);
    if (verifier === undefined) return void res.status(503).end();
    verifier.middleware()(req, res, (error?: unknown) => {
      entry.verified = error === undefined;
      next(error);
    });
  });
  app.get('/orders/:id', (req, res) => void res.json({ id: req.params.id, status: 'shipped' }));
  app.delete('/orders/:id', (req, res) => void res.json({ deleted: req.params.id }));
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    setGateway(jwksBase, issuer) {
      verifier = createCallVerifier({
        jwksUrl: `${jwksBase}/.well-known/jwks.json`,
        issuer,
        audience: 'https://orders.internal',
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const orderTools = [
  {
    name: 'get_order',
    method: 'GET',
    path: '/orders/{id}',
    inputSchema: {
      type: 'object',
      properties: { id: { type: 'string', pattern: '^[0-9]+$' } },
      required: ['id'],
      additionalProperties: false,
    },
  },
];

async function connectWith(url: string, bearer: string): Promise<Client> {
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
    }),
  );
  return client;
}

describe('task tokens and call credentials, two instances on one Redis', () => {
  const prefix = freshPrefix();
  let backend: Awaited<ReturnType<typeof startVerifyingBackend>>;
  let a: TestGateway;
  let b: TestGateway;
  const adminToken = generateApiKey();
  let keyDir: string;
  const clients: Client[] = [];

  before(async () => {
    backend = await startVerifyingBackend();
    const shared = (port: number) => ({
      listen: { host: '127.0.0.1', port },
      http: { publicUrl: 'http://127.0.0.1:1' },
      connectors: [{ id: 'orders', kind: 'http', baseUrl: backend.url, tools: orderTools }],
      backendCredentials: { orders: { type: 'jwt', audience: 'https://orders.internal' } },
      egress: { connectors: { orders: { allowPrivate: ['127.0.0.1/32'] } } },
      stores: { kind: 'redis', url: REDIS_URL, prefix },
      operators: [{ id: 'admin', roles: ['admin'], tokens: [{ sha256: digestApiKey(adminToken) }] }],
    });
    // Both instances share one signing key (as production instances must) through the dev key folder,
    // and one issuer name (their public URL).
    keyDir = await mkdtemp(path.join(tmpdir(), 'portcullis-keys-'));
    a = await startTestGateway({ ...shared(0), credentials: { devKeyDir: keyDir } }, [
      { id: 'shop-bot', tools: ['orders_*'] },
    ]);
    b = await startTestGateway({ ...shared(0), credentials: { devKeyDir: keyDir } }, [
      { id: 'shop-bot', tools: ['orders_*'] },
    ]);
    backend.setGateway(a.gateway.baseUrl, 'http://127.0.0.1:1');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await a?.close();
    await b?.close();
    await backend?.close();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
    await deleteKeys(prefix);
  });

  async function openTask(gw: TestGateway, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
    const response = await fetch(`${gw.gateway.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.agents['shop-bot']!.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const json = (await response.json()) as { task: { id: string }; token: string };
    return { id: json.task.id, token: json.token };
  }

  it('serves the public keys and nothing private', async () => {
    const jwks = (await (await fetch(`${a.gateway.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) assert.equal(key['d'], undefined, 'no private key material');
  });

  it('opens a task, calls with its token, and the backend verifies a credential scoped to that operation', async () => {
    const task = await openTask(a, { intent: 'look up order 42', declaredTools: ['orders_get_order'] });
    const client = await connectWith(a.gateway.mcpUrl, task.token);
    clients.push(client);
    const mark = backend.received.length;
    const result = await client.callTool({ name: 'orders_get_order', arguments: { id: '42' } });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const seen = backend.received.slice(mark);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.verified, true, 'the backend accepted the call credential');
    assert.ok(seen[0]!.authorization?.startsWith('Bearer ey'));
    assert.ok(!seen[0]!.authorization?.includes(task.token), "the agent's task token never reaches the backend");
    // The same credential is refused for another operation on the same backend.
    const replay = await fetch(`${backend.url}/orders/43`, {
      method: 'DELETE',
      headers: { authorization: seen[0]!.authorization! },
    });
    assert.equal(replay.status, 403);
  });

  it('refuses a task token after its task ended, on the other instance', async () => {
    const task = await openTask(a, { intent: 'one lookup' });
    const onB = await connectWith(b.gateway.mcpUrl, task.token);
    clients.push(onB);
    const ok = await onB.callTool({ name: 'orders_get_order', arguments: { id: '1' } });
    assert.notEqual(ok.isError, true);
    const ended = await fetch(`${a.gateway.baseUrl}/v1/tasks/${task.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${a.agents['shop-bot']!.key}` },
    });
    assert.equal(ended.status, 200);
    const mark = backend.received.length;
    const refused = await onB.callTool({ name: 'orders_get_order', arguments: { id: '1' } }).then(
      (r) => r,
      (e: unknown) => e,
    );
    assert.ok(
      refused instanceof Error || (refused as { isError?: boolean }).isError === true,
      'the ended task is refused',
    );
    assert.equal(backend.received.length, mark, 'nothing reached the backend');
    const fresh = await rawPost(b.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${task.token}` });
    assert.equal(fresh.status, 401);
  });

  it('disabling an agent on one instance locks it out of the other at once', async () => {
    const client = await b.connect('shop-bot');
    clients.push(client);
    assert.notEqual((await client.callTool({ name: 'orders_get_order', arguments: { id: '7' } })).isError, true);
    const disabled = await fetch(`${a.gateway.baseUrl}/v1/agents/shop-bot/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(disabled.status, 200, await disabled.text());
    const mark = backend.received.length;
    const refused = await client.callTool({ name: 'orders_get_order', arguments: { id: '7' } }).then(
      () => false,
      () => true,
    );
    assert.ok(refused, 'the disabled agent is refused on its next request');
    assert.equal(backend.received.length, mark);
    const enabled = await fetch(`${b.gateway.baseUrl}/v1/agents/shop-bot/enable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(enabled.status, 200);
  });

  it('rejects forged and malformed task tokens with 401 before anything reaches a backend', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'portcullis-task+jwt' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ iss: 'http://127.0.0.1:1', aud: 'http://127.0.0.1:1', sub: 'shop-bot', exp: 9999999999 }),
    ).toString('base64url');
    const mark = backend.received.length;
    for (const token of [`${header}.${payload}.`, `${header}.${payload}.c2ln`, 'eyJhbGciOiJIUzI1NiJ9.e30.x']) {
      const response = await rawPost(a.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${token}` });
      assert.equal(response.status, 401);
    }
    assert.equal(backend.received.length, mark);
  });
});
