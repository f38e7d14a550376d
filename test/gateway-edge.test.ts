/**
 * The Streamable HTTP front door as raw HTTP: DNS-rebinding checks, size limits, protocol version
 * negotiation, the response modes (auto, SSE and JSON), the GET stream and DELETE.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { startHttpBackend } from './fixtures/http-backend.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { modernPost } from './helpers/modern.js';

const echoTool = {
  name: 'echo',
  method: 'GET',
  path: '/echo',
  inputSchema: { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false },
  query: { q: 'q' },
};

for (const responseMode of ['auto', 'sse', 'json'] as const) {
  describe(`MCP front door (${responseMode} responses)`, () => {
    let backend: Awaited<ReturnType<typeof startHttpBackend>>;
    let gw: TestGateway;
    let auth: Record<string, string>;

    before(async () => {
      backend = await startHttpBackend();
      gw = await startTestGateway(
        {
          http: { responseMode, maxRequestBytes: 4096, allowedOrigins: ['https://console.example.com'] },
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

    async function initialize(
      version = '2025-06-18',
    ): Promise<{ sessionId: string; body: string; contentType: string }> {
      const response = await rawPost(
        gw.gateway.mcpUrl,
        { ...INITIALIZE, params: { ...INITIALIZE.params, protocolVersion: version } },
        auth,
      );
      assert.equal(response.status, 200);
      const sessionId = response.headers.get('mcp-session-id');
      assert.ok(sessionId);
      return { sessionId, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
    }

    // `auto`: an answer ready at once, with nothing streamed before it, is one JSON body.
    it(`answers with ${responseMode === 'sse' ? 'an event stream' : 'a JSON body'}`, async () => {
      const { contentType, body } = await initialize();
      assert.match(contentType, responseMode === 'sse' ? /text\/event-stream/ : /application\/json/);
      assert.match(body, /"protocolVersion":"2025-06-18"/);
    });

    it(`answers a 2026-07-28 call with ${responseMode === 'sse' ? 'an event stream' : 'a JSON body'}`, async () => {
      const answer = await modernPost(
        gw.gateway.mcpUrl,
        'tools/call',
        { name: 'api_echo', arguments: { q: 'hi' } },
        { key: gw.agents['agent']!.key },
      );
      assert.equal(answer.status, 200);
      assert.match(
        answer.headers.get('content-type') ?? '',
        responseMode === 'sse' ? /text\/event-stream/ : /application\/json/,
      );
      assert.ok(answer.body.result !== undefined, JSON.stringify(answer.body));
    });

    it('negotiates an older supported protocol version and falls back for an unknown one', async () => {
      assert.match((await initialize('2025-03-26')).body, /"protocolVersion":"2025-03-26"/);
      const unknown = await initialize('1999-01-01');
      assert.doesNotMatch(unknown.body, /1999-01-01/);
      assert.match(unknown.body, /"protocolVersion":"20\d\d-\d\d-\d\d"/);
    });

    it('rejects a browser Origin that is not allowed, and a rebound Host', async () => {
      const origin = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { ...auth, origin: 'https://evil.example' });
      assert.equal(origin.status, 403);
      const allowed = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { ...auth, origin: 'https://console.example.com' });
      assert.equal(allowed.status, 200);
      await allowed.body?.cancel();
      // fetch() will not send a foreign Host header; node:http will, as a rebinding browser would.
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(gw.gateway.mcpUrl);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              ...auth,
              host: 'rebind.attacker.example',
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(INITIALIZE));
      });
      assert.equal(status, 403);
    });

    it('limits the request size', async () => {
      const big = {
        ...INITIALIZE,
        params: { ...INITIALIZE.params, clientInfo: { name: 'x'.repeat(8192), version: '1' } },
      };
      const response = await rawPost(gw.gateway.mcpUrl, big, auth);
      assert.equal(response.status, 413);
      const body = (await response.json()) as { error?: { code?: number } };
      assert.equal(body.error?.code, -32600);
    });

    it('rejects malformed JSON and requests without a session', async () => {
      const malformed = await rawPost(gw.gateway.mcpUrl, '{"jsonrpc":', auth);
      assert.equal(malformed.status, 400);
      const noSession = await rawPost(gw.gateway.mcpUrl, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, auth);
      assert.equal(noSession.status, 400);
    });

    // `auto`: a single request on a session is served without the SDK's web exchange (session-requests.ts).
    it(`serves a call on a session ${responseMode === 'auto' ? 'without' : 'through'} the SDK's web exchange`, async () => {
      const { sessionId } = await initialize();
      const headers = { ...auth, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
      const transport = WebStandardStreamableHTTPServerTransport.prototype;
      const handleRequest = transport.handleRequest;
      let exchanges = 0;
      transport.handleRequest = function (this: WebStandardStreamableHTTPServerTransport, ...args) {
        exchanges++;
        return handleRequest.apply(this, args);
      };
      try {
        const call = {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'api_echo', arguments: { q: 'hi' } },
        };
        const response = await rawPost(gw.gateway.mcpUrl, call, headers);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('mcp-session-id'), sessionId);
        assert.match(response.headers.get('content-type') ?? '', responseMode === 'sse' ? /event-stream/ : /json/);
        const text = await response.text();
        assert.match(text, /"result":\{"content":\[\{"type":"text"/);
        assert.match(text, /"id":2\}/);
        assert.equal(exchanges, responseMode === 'auto' ? 0 : 1);
      } finally {
        transport.handleRequest = handleRequest;
      }
    });

    it('serves the GET stream and ends the session on DELETE', async () => {
      const { sessionId } = await initialize();
      const headers = { ...auth, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
      await rawPost(gw.gateway.mcpUrl, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
      const controller = new AbortController();
      const stream = await fetch(gw.gateway.mcpUrl, {
        headers: { ...headers, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
      controller.abort();
      const deleted = await fetch(gw.gateway.mcpUrl, { method: 'DELETE', headers });
      assert.equal(deleted.status, 200);
      const afterDelete = await rawPost(gw.gateway.mcpUrl, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, headers);
      assert.equal(afterDelete.status, 404);
    });

    it('calls a tool over the raw protocol', async () => {
      const { sessionId } = await initialize();
      const headers = { ...auth, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
      await rawPost(gw.gateway.mcpUrl, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
      const mark = backend.requests.length;
      const response = await rawPost(
        gw.gateway.mcpUrl,
        { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'api_echo', arguments: { q: 'hi' } } },
        headers,
      );
      assert.equal(response.status, 200);
      // A one-message answer (JSON, or one SSE event) is written whole: sized, not chunked.
      const text = await response.text();
      assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(text)));
      assert.equal(response.headers.get('transfer-encoding'), null);
      assert.match(text, /"id":5/);
      assert.equal(backend.requests.length, mark + 1);
    });
  });
}

describe('JSON-RPC batches', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let auth: Record<string, string>;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
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

  it('refuses a batched initialize and batches on protocol 2025-06-18, sending nothing', async () => {
    const batchedInit = await rawPost(gw.gateway.mcpUrl, [INITIALIZE], auth);
    assert.equal(batchedInit.status, 400);
    const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
    const sessionId = init.headers.get('mcp-session-id')!;
    await init.body?.cancel();
    const headers = { ...auth, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
    const mark = backend.requests.length;
    const batch = await rawPost(
      gw.gateway.mcpUrl,
      [
        { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'api_echo', arguments: {} } },
        { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'api_echo', arguments: {} } },
      ],
      headers,
    );
    assert.equal(batch.status, 400);
    assert.equal(backend.requests.length, mark);
  });
});

describe('session limits', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway({ http: { maxSessionsPerAgent: 2 } }, [{ id: 'agent' }, { id: 'other' }]);
  });
  after(async () => {
    await gw?.close();
  });

  it('refuses a session beyond the per-agent limit with 429, without affecting other agents', async () => {
    const auth = { authorization: `Bearer ${gw.agents['agent']!.key}` };
    for (let i = 0; i < 2; i += 1) {
      const ok = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    }
    const third = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
    assert.equal(third.status, 429);
    const other = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${gw.agents['other']!.key}` });
    assert.equal(other.status, 200);
    await other.body?.cancel();
  });
});
