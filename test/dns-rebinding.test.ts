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
import { MODERN } from './helpers/modern.js';

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

/** Headers and body of a 2026-07-28 `tools/call` of the echo tool (stateless: no session first). */
const MODERN_CALL_HEADERS = { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'api_echo' };
let nextCallId = 100;
const modernEchoCall = () => ({
  jsonrpc: '2.0',
  id: nextCallId++,
  method: 'tools/call',
  params: {
    name: 'api_echo',
    arguments: {},
    _meta: {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'dns-rebinding-test', version: '1.0.0' },
    },
  },
});

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
      // A stateless tool call, which reaches the backend when served: refused under the look-alike Host with
      // nothing sent on, made under the gateway's own Host.
      const before = backend.requests.length;
      const refusedCall = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path,
        headers: { ...headers, ...MODERN_CALL_HEADERS, host: `127.0.0.1.nip.io:${port()}` },
        body: JSON.stringify(modernEchoCall()),
      });
      assert.equal(refusedCall.status, 403, path);
      assert.match(refusedCall.body, /Host not allowed/, path);
      assert.equal(backend.requests.length, before, `${path}: nothing reached the backend`);
      const madeCall = await send(gw.gateway.baseUrl, {
        method: 'POST',
        path,
        headers: { ...headers, ...MODERN_CALL_HEADERS, host: `127.0.0.1:${port()}` },
        body: JSON.stringify(modernEchoCall()),
      });
      assert.equal(madeCall.status, 200, path);
      assert.doesNotMatch(madeCall.body, /"isError":true/, path);
      assert.equal(backend.requests.length, before + 1, `${path}: the served call reached the backend`);
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
    assert.equal(backend.requests.length, mark + targets.length);
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
