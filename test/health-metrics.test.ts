/**
 * What the gateway tells whoever reaches its port: `/healthz` answers status only without credentials and
 * details only to an operator; `/metrics` can require a token or move to a listener of its own, and must be
 * protected one way or the other when the gateway listens beyond loopback; tool labels name catalog tools
 * only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { parseConfigText } from '../gateway/config/load.js';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';

const echoTool = {
  name: 'echo',
  method: 'GET',
  path: '/echo',
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
};

describe('health and metrics endpoints', () => {
  let backend: HttpBackend;
  let gw: TestGateway;
  const operatorToken = generateApiKey();
  const metricsToken = generateApiKey();

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [echoTool] }],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
        operators: [{ id: 'watcher', roles: ['viewer'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
        metrics: { token: { sha256: digestApiKey(metricsToken) } },
      },
      [{ id: 'agent', tools: ['api_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const healthz = (authorization?: string) =>
    fetch(`${gw.gateway.baseUrl}/healthz`, { headers: authorization === undefined ? {} : { authorization } });

  it('/healthz answers status only without credentials', async () => {
    const response = await healthz();
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
  });

  it('/healthz gives the details to an operator (any scheme case), and 401 to anyone else who sends credentials', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const response = await healthz(`${scheme} ${operatorToken}`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body['ok'], true);
      for (const key of ['version', 'policy', 'stores', 'sessions']) assert.ok(key in body, `details include ${key}`);
    }
    for (const authorization of [`Bearer ${gw.agents['agent']!.key}`, `Bearer ${generateApiKey()}`, 'Basic abc']) {
      const response = await healthz(authorization);
      assert.equal(response.status, 401, authorization.slice(0, 8));
      const body = (await response.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ['error']);
    }
  });

  it('/metrics needs the metrics token; operator and agent credentials are not it', async () => {
    for (const headers of [
      {},
      { authorization: `Bearer ${gw.agents['agent']!.key}` },
      { authorization: `Bearer ${operatorToken}` },
      { authorization: `Basic ${metricsToken}` },
    ]) {
      const response = await fetch(`${gw.gateway.baseUrl}/metrics`, { headers });
      assert.equal(response.status, 401);
      const text = await response.text();
      assert.doesNotMatch(text, /portcullis_/);
    }
    const scraped = await fetch(`${gw.gateway.baseUrl}/metrics`, {
      headers: { authorization: `bearer ${metricsToken}` },
    });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /portcullis_decisions_total|# HELP portcullis_/);
  });

  it('labels tool calls with catalog tool names only; names an agent invents are "unknown"', async () => {
    const client = await gw.connect('agent');
    const ok = await client.callTool({ name: 'api_echo', arguments: {} });
    assert.notEqual(ok.isError, true, JSON.stringify(ok));
    const invented = `api_exfil_${Date.now()}`;
    for (const name of [invented, 'evil"}label', 'x'.repeat(100)]) {
      await client.callTool({ name, arguments: {} }).catch(() => undefined);
    }
    const text = await (
      await fetch(`${gw.gateway.baseUrl}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
    ).text();
    assert.match(text, /portcullis_tool_call_duration_seconds_count\{tool="api_echo",outcome="ok"\} 1/);
    assert.match(text, /portcullis_tool_call_duration_seconds_count\{tool="unknown",outcome="[a-z_]+"\} 3/);
    assert.doesNotMatch(text, new RegExp(invented));
    assert.doesNotMatch(text, /evil|xxxxxxxxxx/);
  });
});

describe('a separate metrics listener', () => {
  let gw: TestGateway;
  const metricsToken = generateApiKey();

  before(async () => {
    gw = await startTestGateway(
      { metrics: { listen: { host: '127.0.0.1', port: 0 }, token: { sha256: digestApiKey(metricsToken) } } },
      [{ id: 'agent' }],
    );
  });
  after(async () => {
    await gw?.close();
  });

  it('serves /metrics only on its own listener, with its token', async () => {
    const metricsUrl = gw.gateway.metricsUrl;
    assert.ok(metricsUrl);
    assert.notEqual(new URL(metricsUrl).port, new URL(gw.gateway.baseUrl).port);
    const onGateway = await fetch(`${gw.gateway.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    });
    assert.equal(onGateway.status, 404);
    await onGateway.body?.cancel();
    assert.equal((await fetch(metricsUrl)).status, 401);
    const scraped = await fetch(metricsUrl, { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /# HELP portcullis_/);
    // The MCP edge is not on the metrics listener.
    const mcp = await rawPost(new URL('/mcp', metricsUrl).toString(), INITIALIZE, {
      authorization: `Bearer ${gw.agents['agent']!.key}`,
    });
    assert.equal(mcp.status, 404);
    await mcp.body?.cancel();
  });
});

describe('metrics protection beyond loopback', () => {
  const config = (extra: string) => `listen: { host: 0.0.0.0, port: 8787 }\n${extra}`;

  it('refuses a configuration that listens beyond loopback with /metrics open', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'gateway.internal']) {
      assert.throws(
        () => parseConfigText(`listen: { host: "${host}", port: 8787 }\n`, '/tmp/portcullis.yaml'),
        (error: Error) => /metrics/.test(error.message) && /metrics\.token/.test(error.message),
        host,
      );
    }
  });

  it('accepts it with a metrics token or a separate metrics listener, and on loopback without either', () => {
    assert.doesNotThrow(() =>
      parseConfigText(config('metrics: { token: { secret: env:METRICS_TOKEN } }'), '/tmp/p.yaml'),
    );
    assert.doesNotThrow(() =>
      parseConfigText(config('metrics: { listen: { host: 127.0.0.1, port: 9464 } }'), '/tmp/p.yaml'),
    );
    for (const host of ['127.0.0.1', '::1', 'localhost'])
      assert.doesNotThrow(() => parseConfigText(`listen: { host: "${host}", port: 8787 }\n`, '/tmp/p.yaml'), host);
  });
});
