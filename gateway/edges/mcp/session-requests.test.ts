import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProtocolError, Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { readJsonBody } from '../http/read-json.js';
import { answerWhenReadyAsJson } from './session-answers.js';
import { createSessionRequests, type SessionRequests } from './session-requests.js';
import { sendFetchResponse, toFetchRequest } from './web-exchange.js';
import { eventually } from '../../../test/helpers/eventually.js';
import {
  parseSseMessages,
  initializeAt,
  INITIALIZE,
  postOnSession,
  rawPost,
  toolCall,
} from '../../../test/helpers/raw-mcp.js';

const VERSION = '2025-06-18';
const SESSION = 'session-1';
/** Short enough for a test to wait for it; the SDK's exchange keeps its own (HEADERS_DEADLINE_MS). */
const DEADLINE_MS = 150;

/** A response's body read as text as far as the test asks: up to a marker, or to its end. */
function streamText(response: Response): {
  /** Reads until the text contains `marker`; false when the stream ended first. */
  until(marker: string): Promise<boolean>;
  /** Reads to the end and returns the whole text. */
  rest(): Promise<string>;
  /** The text read so far. */
  text(): string;
} {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const more = async (): Promise<boolean> => {
    const { done, value } = await reader.read();
    if (!done) text += decoder.decode(value, { stream: true });
    return !done;
  };
  return {
    async until(marker) {
      while (!text.includes(marker)) if (!(await more())) return false;
      return true;
    },
    async rest() {
      while (await more());
      return text;
    },
    text: () => text,
  };
}

/** A call the test holds open until it lets it go (by tool name). */
const held = new Map<string, () => void>();

/** What `tools/call` does, by the tool's name. */
async function callTool(
  name: string,
  ctx: {
    notify(message: string): Promise<void>;
    elicit(): Promise<unknown>;
  },
): Promise<{ content: { type: 'text'; text: string }[] }> {
  if (name === 'fail') throw new ProtocolError(-32602, 'no such tool', { code: 'NOT_FOUND' });
  if (name === 'notify-first') await ctx.notify('working');
  if (name.startsWith('held')) await new Promise<void>((resolve) => held.set(name, resolve));
  if (name === 'elicit') return { content: [{ type: 'text', text: `answered ${JSON.stringify(await ctx.elicit())}` }] };
  return { content: [{ type: 'text', text: `called ${name}` }] };
}

interface SessionServer {
  url: string;
  /** Exchanges the SDK's transport served (`handleRequest`), initialize included. */
  sdkExchanges(): number;
  /** Exchanges whose agent went away before the answer was written. */
  abandoned(): number;
  /** Messages the SDK's `onmessage` sorted (what the transport handed it), initialize included. */
  sorted(): number;
  errors: Error[];
  requests?: SessionRequests;
  close(): Promise<void>;
}

/**
 * A 2025 session served as the MCP edge serves one in the `auto` response mode: the SDK's session transport
 * with `answerWhenReadyAsJson`, its exchanges written by `sendFetchResponse`; with `direct`, a single request
 * is served by `createSessionRequests` instead, as the edge does.
 */
async function startSessionServer(direct: boolean): Promise<SessionServer> {
  const mcp = new Server(
    { name: 'session-requests-test', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } },
  );
  const errors: Error[] = [];
  mcp.onerror = (error) => errors.push(error);
  mcp.setRequestHandler('tools/call', (request, ctx) =>
    callTool(request.params.name, {
      notify: (data) => ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data } }),
      elicit: () =>
        ctx.mcpReq.send({
          method: 'elicitation/create',
          params: { mode: 'form', message: 'name?', requestedSchema: { type: 'object', properties: {} } },
        }),
    }),
  );
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => SESSION });
  assert.equal(answerWhenReadyAsJson(transport), true);
  const requests = direct
    ? createSessionRequests(transport, { sessionId: SESSION, headersDeadlineMs: DEADLINE_MS, keepAliveMs: 60 })
    : undefined;
  let sdkExchanges = 0;
  let abandoned = 0;
  const handleRequest = transport.handleRequest.bind(transport);
  transport.handleRequest = (...args) => {
    sdkExchanges++;
    return handleRequest(...args);
  };
  requests?.deliverTo(mcp);
  await mcp.connect(transport);
  let sorted = 0;
  const sdkOnMessage = transport.onmessage!;
  transport.onmessage = (message, extra) => {
    sorted++;
    sdkOnMessage(message, extra);
  };
  const http: HttpServer = createServer((req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) abandoned++;
    });
    void readJsonBody(req, 1024 * 1024).then(async (parsedBody) => {
      const webRequest = toFetchRequest(req, res, { followAgent: false });
      const request = requests?.directRequest(req.headers.accept, parsedBody);
      if (requests !== undefined && request !== undefined) await requests.serve(request, webRequest, res);
      else await sendFetchResponse(await transport.handleRequest(webRequest, { parsedBody }), res);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  await initializeAt(url, VERSION);
  return {
    url,
    sdkExchanges: () => sdkExchanges,
    abandoned: () => abandoned,
    sorted: () => sorted,
    errors,
    ...(requests !== undefined ? { requests } : {}),
    close: async () => {
      requests?.closeAll();
      await mcp.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A request on the session, read whole. */
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  postOnSession(url, { id: SESSION, version: VERSION }, body, headers);
const call = toolCall;

/**
 * The headers an answer is compared on. The rest is Node's own (date, length, and `connection`, which Node
 * leaves out of a JSON answer built from the SDK's event-stream headers once their `connection` is removed).
 */
function mcpHeaders(headers: Headers): Record<string, string | null> {
  const names = ['content-type', 'mcp-session-id', 'cache-control', 'x-accel-buffering'];
  return Object.fromEntries(names.map((name) => [name, headers.get(name)]));
}

describe("a 2025 session's single requests served without the SDK's web exchange", () => {
  let sdk: SessionServer;
  let direct: SessionServer;
  before(async () => {
    sdk = await startSessionServer(false);
    direct = await startSessionServer(true);
  });
  after(async () => {
    for (const release of held.values()) release();
    await sdk.close();
    await direct.close();
  });

  it('answers a result as the SDK exchange does, the same bytes and headers, without that exchange', async () => {
    const before = direct.sdkExchanges();
    const sortedBefore = direct.sorted();
    const expected = await post(sdk.url, call(1, 'echo'));
    const answered = await post(direct.url, call(1, 'echo'));
    assert.equal(direct.sdkExchanges(), before, 'the SDK transport served the exchange');
    assert.equal(direct.sorted(), sortedBefore, "the request went through the SDK's sorting of inbound messages");
    assert.equal(answered.status, 200);
    assert.deepEqual(mcpHeaders(answered.headers), mcpHeaders(expected.headers));
    assert.equal(answered.headers.get('content-type'), 'application/json');
    assert.equal(answered.headers.get('mcp-session-id'), SESSION);
    assert.equal(answered.body, expected.body);
    assert.deepEqual(JSON.parse(answered.body), {
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ type: 'text', text: 'called echo' }] },
    });
  });

  it('answers an error and a string id the same way', async () => {
    const before = direct.sdkExchanges();
    const expected = await post(sdk.url, call('two', 'fail'));
    const answered = await post(direct.url, call('two', 'fail'));
    assert.equal(direct.sdkExchanges(), before, 'the SDK transport served the exchange');
    assert.equal(answered.status, 200);
    assert.deepEqual(mcpHeaders(answered.headers), mcpHeaders(expected.headers));
    assert.equal(answered.body, expected.body);
    assert.equal((JSON.parse(answered.body) as { error?: { code?: number } }).error?.code, -32602);
  });

  it('streams a result that follows a notification, byte for byte as the SDK does', async () => {
    const before = direct.sdkExchanges();
    const expected = await post(sdk.url, call(3, 'notify-first'));
    const answered = await post(direct.url, call(3, 'notify-first'));
    assert.equal(direct.sdkExchanges(), before, 'the SDK transport served the exchange');
    assert.deepEqual(mcpHeaders(answered.headers), mcpHeaders(expected.headers));
    assert.equal(answered.headers.get('content-type'), 'text/event-stream');
    assert.equal(answered.body, expected.body);
    assert.equal(parseSseMessages(answered.body).length, 2);
  });

  it("relays the server's request for the call on its stream and takes the agent's answer through the SDK", async () => {
    const callExchanges = direct.sdkExchanges();
    const response = await rawPost(direct.url, call(4, 'elicit'), {
      'mcp-session-id': SESSION,
      'mcp-protocol-version': VERSION,
    });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const stream = streamText(response);
    assert.ok(await stream.until('\n\n'), 'the stream ended before the relayed request');
    assert.equal(direct.sdkExchanges(), callExchanges, 'the SDK transport served the call');
    const [elicitation] = parseSseMessages(stream.text()) as { id: number; method: string }[];
    assert.equal(elicitation?.method, 'elicitation/create');
    const before = direct.sdkExchanges();
    const accepted = await post(direct.url, {
      jsonrpc: '2.0',
      id: elicitation.id,
      result: { action: 'accept', content: { name: 'x' } },
    });
    assert.equal(accepted.status, 202);
    assert.equal(direct.sdkExchanges(), before + 1, "the agent's answer goes through the SDK transport");
    assert.deepEqual(parseSseMessages(await stream.rest()).at(-1), {
      jsonrpc: '2.0',
      id: 4,
      result: { content: [{ type: 'text', text: 'answered {"action":"accept","content":{"name":"x"}}' }] },
    });
  });

  it('sends the event-stream headers of a call unanswered at the deadline, then keep-alives and the answer', async () => {
    const before = direct.sdkExchanges();
    const response = await rawPost(direct.url, call(5, 'held-5'), {
      'mcp-session-id': SESSION,
      'mcp-protocol-version': VERSION,
    });
    // The headers came before the answer: the call is still held.
    assert.ok(held.has('held-5'));
    assert.equal(direct.sdkExchanges(), before, 'the SDK transport served the exchange');
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.equal(response.headers.get('mcp-session-id'), SESSION);
    assert.equal(response.headers.get('cache-control'), 'no-cache, no-transform');
    // Let the call go once the stream has carried a keep-alive (or after two seconds without one, so that the
    // answer ends the stream and the assertions below fail instead of the test hanging), then read the rest.
    const release = held.get('held-5')!;
    const giveUp = setTimeout(release, 2000);
    const stream = streamText(response);
    await stream.until(': keepalive\n\n');
    clearTimeout(giveUp);
    release();
    const body = await stream.rest();
    assert.match(body, /^(: keepalive\n\n)+event: message\n/);
    assert.deepEqual(parseSseMessages(body), [
      { jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'called held-5' }] } },
    ]);
  });

  it('writes nothing more for a call whose agent went away, and its late answer is reported', async () => {
    const controller = new AbortController();
    const pending = fetch(direct.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': SESSION,
        'mcp-protocol-version': VERSION,
      },
      body: JSON.stringify(call(6, 'held-6')),
      signal: controller.signal,
    });
    await eventually(() => held.has('held-6'), 'the call held');
    const abandonedBefore = direct.abandoned();
    controller.abort();
    await assert.rejects(pending);
    await eventually(() => direct.abandoned() > abandonedBefore, 'the exchange abandoned');
    const errorsBefore = direct.errors.length;
    held.get('held-6')!();
    await eventually(() => direct.errors.length > errorsBefore, 'the late answer reported');
    assert.match(String(direct.errors.at(-1)), /No connection established for request ID: 6/);
    // The session serves on.
    assert.equal((await post(direct.url, call(7, 'echo'))).status, 200);
  });

  it('ends the exchanges still open when the session closes', async () => {
    const other = await startSessionServer(true);
    try {
      const response = rawPost(other.url, call(8, 'held-8'), {
        'mcp-session-id': SESSION,
        'mcp-protocol-version': VERSION,
      });
      await eventually(() => held.has('held-8'), 'the call held');
      other.requests!.closeAll();
      const answer = await response;
      assert.equal(answer.headers.get('content-type'), 'text/event-stream');
      assert.equal(await answer.text(), '');
    } finally {
      held.get('held-8')?.();
      await other.close();
    }
  });

  it('leaves batches, notifications, answers, initialize and bodies the SDK refuses to its exchange', () => {
    const requests = direct.requests!;
    const accept = 'application/json, text/event-stream';
    assert.ok(requests.directRequest(accept, call(9, 'echo')));
    assert.equal(requests.directRequest(accept, [call(9, 'echo')]), undefined);
    assert.equal(requests.directRequest(accept, { jsonrpc: '2.0', method: 'notifications/initialized' }), undefined);
    assert.equal(requests.directRequest(accept, { jsonrpc: '2.0', id: 9, result: {} }), undefined);
    assert.equal(requests.directRequest(accept, { ...INITIALIZE, id: 9 }), undefined);
    assert.equal(requests.directRequest(accept, { ...call(9, 'echo'), jsonrpc: '1.0' }), undefined);
    assert.equal(requests.directRequest(accept, { ...call(9, 'echo'), id: null }), undefined);
    assert.equal(requests.directRequest(accept, { ...call(9, 'echo'), params: 'echo' }), undefined);
    // An agent that does not accept both forms is answered by the SDK (406).
    assert.equal(requests.directRequest('application/json', call(9, 'echo')), undefined);
    assert.equal(requests.directRequest(undefined, call(9, 'echo')), undefined);
  });

  it('answers a body the SDK refuses exactly as before', async () => {
    const body = { ...call(10, 'echo'), params: 'echo' };
    const expected = await post(sdk.url, body);
    const answered = await post(direct.url, body);
    assert.equal(answered.status, 400);
    assert.equal(answered.status, expected.status);
    assert.equal(answered.body, expected.body);
    const refused = await post(direct.url, call(11, 'echo'), { accept: 'application/json' });
    assert.equal(refused.status, 406);
  });
});

describe('a request the server cannot take', () => {
  it('rejects, leaves the exchange to the caller and keeps nothing of it', async () => {
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => SESSION });
    const requests = createSessionRequests(transport, { sessionId: SESSION, headersDeadlineMs: 20 });
    transport.onmessage = () => {
      throw new Error('not taken');
    };
    const http: HttpServer = createServer((req, res) => {
      const request = requests.directRequest(req.headers.accept, call(1, 'echo'));
      assert.ok(request);
      requests.serve(request, toFetchRequest(req, res, { followAgent: false }), res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const response = await rawPost(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, call(1, 'echo'));
      assert.equal(response.status, 500);
      assert.equal(await response.text(), 'Error: not taken');
      // Past the deadline: no event-stream headers are attempted on the answered exchange.
      await new Promise((resolve) => setTimeout(resolve, 40));
      let sent = 0;
      const send = transport.send.bind(transport);
      await send({ jsonrpc: '2.0', id: 1, result: {} }).catch(() => sent++);
      assert.equal(sent, 1, 'the request is no longer routed to its exchange');
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
