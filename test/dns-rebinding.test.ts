/**
 * DNS rebinding through the gateway: a page on the attacker's domain, whose name resolves to 127.0.0.1,
 * sends the attacker's name as Host. Names that merely start like a loopback address (`127.x.example`,
 * `127.0.0.1.nip.io`) or end in a dot are refused on every route, and nothing reaches a backend.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';
import { INITIALIZE, startTestGateway, type TestGateway } from './helpers/gateway.js';

const echoTool = {
  name: 'echo',
  method: 'GET',
  path: '/echo',
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
};

/** node:http sends the Host header it is given, as a rebinding browser does; fetch() would not. */
function send(
  baseUrl: string,
  options: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: options.path, method: options.method, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('DNS-rebinding defence through the gateway', () => {
  let backend: HttpBackend;
  let gw: TestGateway;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [echoTool] }],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'agent', tools: ['api_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const port = () => new URL(gw.gateway.baseUrl).port;
  const lookalikes = () => [
    `127.attacker.example:${port()}`,
    `127.0.0.1.nip.io:${port()}`,
    `127.0.0.1.attacker.example`,
    `localhost.:${port()}`,
    `localhost.attacker.example:${port()}`,
  ];

  it('refuses look-alike Host names on /healthz, /metrics, /console/ and the operator API', async () => {
    for (const host of lookalikes()) {
      for (const path of ['/healthz', '/metrics', '/console/', '/v1/approvals']) {
        const answer = await send(gw.gateway.baseUrl, { method: 'GET', path, headers: { host } });
        assert.equal(answer.status, 403, `${host} ${path}`);
        assert.match(answer.body, /Host not allowed/);
      }
    }
    const genuine = await send(gw.gateway.baseUrl, {
      method: 'GET',
      path: '/healthz',
      headers: { host: `127.0.0.1:${port()}` },
    });
    assert.notEqual(genuine.status, 403);
  });

  it('serves POST /mcp in every form of the target it answers, each behind the Host check', async () => {
    const headers = {
      authorization: `Bearer ${gw.agents['agent']!.key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    // The plain forms are served without Express; any other form (absolute-form) through its router.
    const targets = ['/mcp', '/MCP', '/mcp/', '/mcp?probe=1', `http://127.0.0.1:${port()}/mcp`];
    const mark = backend.requests.length;
    for (const path of targets) {
      const served = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path,
        headers: { ...headers, host: `127.0.0.1:${port()}` },
        body: JSON.stringify(INITIALIZE),
      });
      assert.equal(served.status, 200, path);
      assert.match(served.body, /"protocolVersion"/, path);
      const refused = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path,
        headers: { ...headers, host: `127.0.0.1.nip.io:${port()}` },
        body: JSON.stringify(INITIALIZE),
      });
      assert.equal(refused.status, 403, path);
      assert.match(refused.body, /"jsonrpc":"2.0".*Host not allowed/, path);
    }
    // A body that is not JSON is a JSON-RPC parse error on the MCP endpoint, whichever way it is routed.
    for (const path of ['/mcp', `http://127.0.0.1:${port()}/mcp`]) {
      const broken = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path,
        headers: { ...headers, host: `127.0.0.1:${port()}` },
        body: '{"jsonrpc":',
      });
      assert.equal(broken.status, 400, path);
      assert.equal(JSON.parse(broken.body).error.code, -32700, path);
    }
    assert.equal(backend.requests.length, mark);
  });

  it('refuses a tool call under a look-alike Host or Origin and sends nothing to the backend', async () => {
    const headers = {
      authorization: `Bearer ${gw.agents['agent']!.key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const mark = backend.requests.length;
    for (const host of lookalikes()) {
      const answer = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path: '/mcp',
        headers: { ...headers, host },
        body: JSON.stringify(INITIALIZE),
      });
      assert.equal(answer.status, 403, host);
      const origin = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path: '/mcp',
        headers: { ...headers, host: `localhost:${port()}`, origin: `http://${host}` },
        body: JSON.stringify(INITIALIZE),
      });
      assert.equal(origin.status, 403, `origin ${host}`);
      assert.match(origin.body, /Origin not allowed/);
    }
    assert.equal(backend.requests.length, mark);
  });
});
