/**
 * Every request ends: two requests in flight in one session with the same JSON-RPC id. The second is
 * refused at once with a JSON-RPC error naming that id; the first completes with its result, in both
 * response modes. The id can be used again once the first has been answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SLOW_TOOL, startHttpBackend } from '../fixtures/http-backend.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** The JSON-RPC messages in a response, whether it is one JSON body or an SSE stream. */
async function messages(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
  }
  const body = JSON.parse(text) as unknown;
  return (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
}

for (const responseMode of ['sse', 'json'] as const) {
  describe(`duplicate in-flight request ids (${responseMode} responses)`, () => {
    let backend: Awaited<ReturnType<typeof startHttpBackend>>;
    let gw: TestGateway;
    let headers: Record<string, string>;

    before(async () => {
      backend = await startHttpBackend();
      gw = await startTestGateway(
        {
          http: { responseMode },
          connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [SLOW_TOOL] }],
          egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
        },
        [{ id: 'bot', tools: ['api_slow'] }],
      );
      const auth = { authorization: `Bearer ${gw.agents['bot']!.key}` };
      const opened = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
      assert.equal(opened.status, 200);
      await opened.text();
      headers = {
        ...auth,
        'mcp-session-id': opened.headers.get('mcp-session-id')!,
        'mcp-protocol-version': '2025-06-18',
      };
      const initialized = await rawPost(
        gw.gateway.mcpUrl,
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        headers,
      );
      assert.equal(initialized.status, 202);
    });
    after(async () => {
      await gw?.close();
      await backend?.close();
    });

    const call = (id: number | string, ms: number) =>
      rawPost(
        gw.gateway.mcpUrl,
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'api_slow', arguments: { ms } } },
        headers,
      );

    it('refuses the second at once and answers the first', async () => {
      const first = call(7, 1500);
      // Let the first reach the backend before the duplicate arrives.
      while (!backend.requests.some((r) => r.url === '/slow?ms=1500')) await new Promise((r) => setTimeout(r, 10));
      const second = await call(7, 10);
      assert.equal(second.status, 400);
      assert.deepEqual(await messages(second), [
        {
          jsonrpc: '2.0',
          id: 7,
          error: {
            code: -32600,
            message: 'Invalid Request: a request with this id is already in flight in this session',
          },
        },
      ]);
      const answered = await messages(await first);
      const response = answered.find((m) => m['id'] === 7);
      assert.ok(response !== undefined, 'the first request got its answer');
      assert.equal((response['result'] as { isError?: boolean }).isError, undefined);
      assert.equal(
        backend.requests.filter((r) => r.url === '/slow?ms=10').length,
        0,
        'the refused request reached nothing',
      );

      // The same id as a string is a different id; and 7 is free again now that the first has ended.
      const [asString, again] = await Promise.all([call('7', 10), call(7, 10)]);
      for (const reply of [asString, again]) {
        assert.equal(reply.status, 200);
        const result = (await messages(reply)).find((m) => m['result'] !== undefined);
        assert.ok(result !== undefined);
      }
    });
  });
}
