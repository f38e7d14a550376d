/**
 * Race-free session caps: 50 simultaneous session opens by one agent with `maxSessionsPerAgent: 5` leave
 * exactly 5 sessions, on one instance and across two gateway processes sharing a Redis of the test's own;
 * the rest are refused with 429. Closing one frees a slot for the next open, on either instance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { deleteKeys, freshPrefix, REDIS_URL } from '../helpers/redis.js';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/index.js';
import { startGatewayProcess, type GatewayProcess } from '../fixtures/gateway-process.js';
import { startRedisProcess, type RedisProcess } from './redis-process.js';

describe('session cap under simultaneous opens', () => {
  let gw: TestGateway;
  const prefix = freshPrefix();
  before(async () => {
    // Shared stores: opening a session waits on Redis (its implicit task), which is where opens interleave.
    gw = await startTestGateway(
      {
        http: { maxSessionsPerAgent: 5, responseMode: 'json' },
        stores: { kind: 'redis', url: REDIS_URL, prefix },
      },
      [{ id: 'bot' }],
    );
  });
  after(async () => {
    await gw?.close();
    await deleteKeys(prefix);
  });

  it('admits exactly the cap out of 50 simultaneous opens', async () => {
    const auth = { authorization: `Bearer ${gw.agents['bot']!.key}` };
    const responses = await Promise.all(Array.from({ length: 50 }, () => rawPost(gw.gateway.mcpUrl, INITIALIZE, auth)));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.text()));
    assert.equal(statuses.filter((s) => s === 200).length, 5, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 45);

    // Closing one session gives its slot back.
    const open = responses.find((r) => r.status === 200)!;
    const closed = await fetch(gw.gateway.mcpUrl, {
      method: 'DELETE',
      headers: { ...auth, 'mcp-session-id': open.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' },
    });
    assert.equal(closed.status, 200);
    const next = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
    assert.equal(next.status, 200);
    await next.text();
    const over = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
    assert.equal(over.status, 429);
  });
});

describe('session cap across two instances sharing Redis', () => {
  let redis: RedisProcess;
  const gateways: GatewayProcess[] = [];
  const key = generateApiKey();
  const prefix = freshPrefix();

  before(async () => {
    redis = await startRedisProcess();
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await startGatewayProcess({
          config: (dir) => ({
            listen: { host: '127.0.0.1', port: 0 },
            audit: { file: `${dir}/audit.jsonl` },
            policy: { watch: false },
            http: { maxSessionsPerAgent: 5, responseMode: 'json' },
            stores: { kind: 'redis', url: redis.url, prefix },
            agents: [{ id: 'bot', apiKeys: [{ sha256: digestApiKey(key) }] }],
          }),
        }),
      );
    }
  });
  after(async () => {
    await Promise.all(gateways.map((gw) => gw.close().catch(() => undefined)));
    await redis?.close();
  });

  it('admits exactly the cap out of 50 simultaneous opens split across the instances', async () => {
    const auth = { authorization: `Bearer ${key}` };
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => rawPost(gateways[i % 2]!.mcpUrl, INITIALIZE, auth)),
    );
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.text()));
    assert.equal(statuses.filter((s) => s === 200).length, 5, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 45);

    // A slot freed on one instance can be taken on the other.
    const index = responses.findIndex((r) => r.status === 200);
    const closed = await fetch(gateways[index % 2]!.mcpUrl, {
      method: 'DELETE',
      headers: {
        ...auth,
        'mcp-session-id': responses[index]!.headers.get('mcp-session-id')!,
        'mcp-protocol-version': '2025-06-18',
      },
    });
    assert.equal(closed.status, 200);
    const other = gateways[(index + 1) % 2]!;
    const next = await rawPost(other.mcpUrl, INITIALIZE, auth);
    assert.equal(next.status, 200);
    await next.text();
    const over = await rawPost(gateways[index % 2]!.mcpUrl, INITIALIZE, auth);
    assert.equal(over.status, 429);
    await over.text();
  });
});
