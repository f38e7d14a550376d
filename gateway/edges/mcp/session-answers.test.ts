import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProtocolError, Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { readJsonBody } from '../http/read-json.js';
import { answerWhenReadyAsJson } from './session-answers.js';
import { HEADERS_DEADLINE_MS, sendFetchResponse, toFetchRequest } from './web-exchange.js';
import { parseSseMessages, initializeAt, postOnSession, toolCall } from '../../../test/helpers/raw-mcp.js';

const VERSION = '2025-03-26';

/** What `tools/call` does, by the tool's name. */
async function callTool(
  name: string,
  notify: (message: string) => Promise<void>,
): Promise<{ content: { type: 'text'; text: string }[] }> {
  if (name === 'fail') throw new ProtocolError(-32602, 'no such tool', { code: 'NOT_FOUND' });
  if (name === 'notify-first') await notify('working');
  if (name === 'slow') await new Promise((resolve) => setTimeout(resolve, HEADERS_DEADLINE_MS + 300));
  return { content: [{ type: 'text', text: `called ${name}` }] };
}

/**
 * A 2025 session served as the MCP edge serves one: the SDK's session transport (event streams), its
 * exchanges written by `sendFetchResponse`; with `auto`, answers are put on the streams by
 * `answerWhenReadyAsJson`.
 */
async function startSessionServer(auto: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const mcp = new Server(
    { name: 'session-answers-test', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } },
  );
  mcp.setRequestHandler('tools/call', (request, ctx) =>
    callTool(request.params.name, (data) =>
      ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data } }),
    ),
  );
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => 'session-1' });
  if (auto) assert.equal(answerWhenReadyAsJson(transport), true);
  await mcp.connect(transport);
  const http: HttpServer = createServer((req, res) => {
    void readJsonBody(req, 1024 * 1024)
      .then((parsedBody) => transport.handleRequest(toFetchRequest(req, res, { followAgent: false }), { parsedBody }))
      .then((response) => sendFetchResponse(response, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  await initializeAt(url, VERSION);
  return {
    url,
    close: async () => {
      await mcp.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A request on the session, read whole. */
const post = (url: string, body: unknown) => postOnSession(url, { id: 'session-1', version: VERSION }, body);
const call = toolCall;

describe("a 2025 session's answers in the auto response mode", () => {
  let sdk: Awaited<ReturnType<typeof startSessionServer>>;
  let auto: Awaited<ReturnType<typeof startSessionServer>>;
  before(async () => {
    sdk = await startSessionServer(false);
    auto = await startSessionServer(true);
  });
  after(async () => {
    await sdk.close();
    await auto.close();
  });

  it('answers a result ready with nothing before it as one JSON body: the message the SDK streams as an event', async () => {
    const streamed = await post(sdk.url, call(1, 'echo'));
    const answered = await post(auto.url, call(1, 'echo'));
    assert.equal(streamed.headers.get('content-type'), 'text/event-stream');
    assert.equal(answered.status, 200);
    assert.equal(answered.headers.get('content-type'), 'application/json');
    assert.equal(answered.headers.get('mcp-session-id'), 'session-1');
    assert.equal(answered.headers.get('cache-control'), null);
    assert.equal(answered.headers.get('x-accel-buffering'), null);
    assert.deepEqual(JSON.parse(answered.body), parseSseMessages(streamed.body)[0]);
    assert.deepEqual(JSON.parse(answered.body), {
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ type: 'text', text: 'called echo' }] },
    });
  });

  it('answers an error the same way', async () => {
    const streamed = await post(sdk.url, call(2, 'fail'));
    const answered = await post(auto.url, call(2, 'fail'));
    assert.equal(answered.headers.get('content-type'), 'application/json');
    const error = JSON.parse(answered.body) as { error?: { code?: number } };
    assert.equal(error.error?.code, -32602);
    assert.deepEqual(error, parseSseMessages(streamed.body)[0]);
  });

  it('streams a result that follows a notification, byte for byte as the SDK does', async () => {
    const streamed = await post(sdk.url, call(3, 'notify-first'));
    const answered = await post(auto.url, call(3, 'notify-first'));
    assert.equal(answered.headers.get('content-type'), 'text/event-stream');
    assert.equal(answered.body, streamed.body);
    assert.equal(parseSseMessages(answered.body).length, 2);
  });

  it('streams the answers of a batch, byte for byte as the SDK does', async () => {
    const streamed = await post(sdk.url, [call(4, 'echo'), call(5, 'notify-first')]);
    const answered = await post(auto.url, [call(4, 'echo'), call(5, 'notify-first')]);
    assert.equal(answered.headers.get('content-type'), 'text/event-stream');
    assert.equal(answered.body, streamed.body);
    assert.equal(
      parseSseMessages(answered.body).filter((m) => typeof m === 'object' && m !== null && 'result' in m).length,
      2,
    );
  });

  it('streams an answer that comes after the headers were due: the agent already saw an event stream', async () => {
    const answered = await post(auto.url, call(6, 'slow'));
    assert.equal(answered.headers.get('content-type'), 'text/event-stream');
    assert.equal(answered.body, `event: message\ndata: ${JSON.stringify(parseSseMessages(answered.body)[0])}\n\n`);
    assert.deepEqual(parseSseMessages(answered.body), [
      { jsonrpc: '2.0', id: 6, result: { content: [{ type: 'text', text: 'called slow' }] } },
    ]);
  });

  it('leaves a transport without the private writer as the SDK built it', () => {
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => 'x' });
    Object.defineProperty(transport, 'writeSSEEvent', { value: undefined });
    assert.equal(answerWhenReadyAsJson(transport), false);
  });
});
