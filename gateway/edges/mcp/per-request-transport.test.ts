import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMcpHandler, PerRequestHTTPServerTransport, ProtocolError, Server } from '@modelcontextprotocol/server';
import { answerResultsAsJson, PER_REQUEST_MEMBERS } from './per-request-transport.js';
import { RequestServer } from './server.js';
import { isJsonResponse } from './web-exchange.js';
import { modernRequestInit } from '../../../test/helpers/modern.js';

/** What the handler of `tools/call` does in a case: answer, notify first, or fail. */
type Behaviour = 'answer' | 'notify-first' | 'fail';

function serverOf(ServerClass: typeof Server, behaviour: Behaviour): Server {
  const server = new ServerClass(
    { name: 'per-request-test', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } },
  );
  server.setRequestHandler('tools/call', async (request, ctx) => {
    if (behaviour === 'fail') throw new ProtocolError(-32602, 'no such tool', { code: 'NOT_FOUND' });
    if (behaviour === 'notify-first')
      await ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data: 'working' } });
    return { content: [{ type: 'text', text: `called ${request.params.name}` }] };
  });
  return server;
}

/** One request through the SDK's 2026-07-28 handler, its server built from `ServerClass`. */
async function serve(
  ServerClass: typeof Server,
  behaviour: Behaviour,
  method = 'tools/call',
  params: Record<string, unknown> = { name: 'echo', arguments: {} },
): Promise<{ response: Response; status: number; contentType: string | null; body: string }> {
  const handler = createMcpHandler(() => serverOf(ServerClass, behaviour), { legacy: 'reject' });
  try {
    const response = await handler.fetch(
      new Request('http://localhost/mcp', modernRequestInit(method, params, { id: 1 })),
    );
    // Read from a clone, so `response` keeps what the gateway would be given.
    const body = await response.clone().text();
    return { response, status: response.status, contentType: response.headers.get('content-type'), body };
  } finally {
    await handler.close();
  }
}

describe("the 2026-07-28 per-request transport's answers", () => {
  it('still has the members the JSON answer relies on (fails when an SDK update renames them)', () => {
    const transport = new PerRequestHTTPServerTransport({
      classification: undefined as unknown as ConstructorParameters<
        typeof PerRequestHTTPServerTransport
      >[0]['classification'],
    });
    for (const member of PER_REQUEST_MEMBERS) assert.ok(member in transport, `PerRequestHTTPServerTransport.${member}`);
    assert.equal(answerResultsAsJson(transport), true);
  });

  it('answers a result with the bytes, status and content type the SDK answers it with, without a web stream', async () => {
    const sdk = await serve(Server, 'answer');
    const gateway = await serve(RequestServer, 'answer');
    assert.ok(!isJsonResponse(sdk.response));
    assert.ok(isJsonResponse(gateway.response), "the gateway's server should answer through jsonResponse");
    assert.equal(gateway.status, 200);
    assert.deepEqual(
      { status: gateway.status, contentType: gateway.contentType, body: gateway.body },
      { status: sdk.status, contentType: sdk.contentType, body: sdk.body },
    );
    assert.match(gateway.body, /called echo/);
  });

  it('leaves a result that follows a notification to the SDK: the exchange is an SSE stream', async () => {
    const sdk = await serve(Server, 'notify-first');
    const gateway = await serve(RequestServer, 'notify-first');
    assert.ok(!isJsonResponse(gateway.response));
    assert.equal(gateway.contentType, 'text/event-stream');
    assert.equal(gateway.contentType, sdk.contentType);
    assert.equal(gateway.body, sdk.body);
    assert.match(gateway.body, /working[\s\S]*called echo/);
  });

  it('leaves errors to the SDK, with their status', async () => {
    for (const [method, params] of [
      ['tools/call', { name: 'echo', arguments: {} }],
      ['prompts/list', {}],
    ] as const) {
      const sdk = await serve(Server, 'fail', method, params);
      const gateway = await serve(RequestServer, 'fail', method, params);
      assert.ok(!isJsonResponse(gateway.response), method);
      assert.deepEqual(
        { status: gateway.status, contentType: gateway.contentType, body: gateway.body },
        { status: sdk.status, contentType: sdk.contentType, body: sdk.body },
        method,
      );
      assert.match(gateway.body, /"error"/, method);
    }
  });

  it('leaves any transport other than the per-request one as it is', () => {
    const other = { send: async () => undefined, start: async () => undefined, close: async () => undefined };
    const send = other.send;
    assert.equal(answerResultsAsJson(other), false);
    assert.equal(other.send, send);
  });
});
