/**
 * Version-dependent behaviour follows the protocol version negotiated by `initialize`, not each request's
 * `MCP-Protocol-Version` header: a header that contradicts the session's version is a 400 and reaches no
 * backend, so a 2025-06-18 session cannot get JSON-RPC batches by claiming 2025-03-26.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';

const echoTool = {
  name: 'echo',
  method: 'GET',
  path: '/echo',
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
};
const call = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'api_echo', arguments: {} },
});

describe('negotiated protocol version', () => {
  let backend: HttpBackend;
  let gw: TestGateway;
  let auth: Record<string, string>;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        http: { responseMode: 'json' },
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [echoTool] }],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'agent', tools: ['api_*'] }],
    );
    auth = { authorization: `Bearer ${gw.agents['agent']!.key}` };
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  async function session(version: string): Promise<Record<string, string>> {
    const init = await rawPost(
      gw.gateway.mcpUrl,
      { ...INITIALIZE, params: { ...INITIALIZE.params, protocolVersion: version } },
      auth,
    );
    assert.equal(init.status, 200);
    assert.match(await init.text(), new RegExp(`"protocolVersion":"${version}"`));
    const headers = { ...auth, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const initialized = await rawPost(
      gw.gateway.mcpUrl,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      {
        ...headers,
        'mcp-protocol-version': version,
      },
    );
    assert.equal(initialized.status, 202);
    return headers;
  }

  it('a 2025-06-18 session claiming 2025-03-26 gets no batch, and nothing reaches the backend', async () => {
    const headers = await session('2025-06-18');
    const mark = backend.requests.length;
    const batch = await rawPost(gw.gateway.mcpUrl, [call(1), call(2)], {
      ...headers,
      'mcp-protocol-version': '2025-03-26',
    });
    assert.equal(batch.status, 400);
    assert.equal(((await batch.json()) as { error: { code: number } }).error.code, -32600);
    const noHeader = await rawPost(gw.gateway.mcpUrl, [call(3), call(4)], headers);
    assert.equal(noHeader.status, 400, 'without a header the negotiated version still decides');
    await noHeader.body?.cancel();
    assert.equal(backend.requests.length, mark);
  });

  it('a request whose header contradicts the session version is a 400 on POST, GET and DELETE', async () => {
    const headers = await session('2025-06-18');
    const mark = backend.requests.length;
    const contradicting = { ...headers, 'mcp-protocol-version': '2025-03-26' };
    const post = await rawPost(gw.gateway.mcpUrl, call(5), contradicting);
    assert.equal(post.status, 400);
    assert.match(
      ((await post.json()) as { error: { message: string } }).error.message,
      /negotiated version 2025-06-18/,
    );
    const stream = await fetch(gw.gateway.mcpUrl, { headers: { ...contradicting, accept: 'text/event-stream' } });
    assert.equal(stream.status, 400);
    await stream.body?.cancel();
    const deleted = await fetch(gw.gateway.mcpUrl, { method: 'DELETE', headers: contradicting });
    assert.equal(deleted.status, 400);
    await deleted.body?.cancel();
    assert.equal(backend.requests.length, mark);
    // The session survived the refused DELETE and still works with its own version.
    const ok = await rawPost(gw.gateway.mcpUrl, call(6), { ...headers, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /"id":6/);
    assert.equal(backend.requests.length, mark + 1);
  });

  it('a 2025-03-26 session may batch (with or without the header), but not claim a newer version', async () => {
    const headers = await session('2025-03-26');
    const mark = backend.requests.length;
    const batch = await rawPost(gw.gateway.mcpUrl, [call(7), call(8)], {
      ...headers,
      'mcp-protocol-version': '2025-03-26',
    });
    assert.equal(batch.status, 200);
    const answers = (await batch.json()) as { id: number }[];
    assert.deepEqual(answers.map((a) => a.id).sort(), [7, 8]);
    const bare = await rawPost(gw.gateway.mcpUrl, [call(9)], headers);
    assert.equal(bare.status, 200);
    await bare.body?.cancel();
    assert.equal(backend.requests.length, mark + 3);
    const newer = await rawPost(gw.gateway.mcpUrl, call(10), { ...headers, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(newer.status, 400);
    await newer.body?.cancel();
    assert.equal(backend.requests.length, mark + 3);
  });
});
