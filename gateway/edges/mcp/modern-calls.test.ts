import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  classifyInboundRequest,
  createMcpHandler,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  Server,
  type AuthInfo,
  type ServerContext,
  type Transport,
} from '@modelcontextprotocol/server';
import { protoWith } from '../../../test/helpers/prototype-spy.js';
import { readJsonBody } from '../http/read-json.js';
import { createModernCalls, type ModernCalls } from './modern-calls.js';
import { createRequestClassifier } from './request-classifier.js';
import { gatewayServerOptions, type ToolCallHandler } from './server.js';
import { parseSseMessages } from '../../../test/helpers/raw-mcp.js';
import { eventually } from '../../../test/helpers/eventually.js';

const REVISION = '2026-07-28';
const SERVER_INFO = { name: 'gateway-under-test', version: '1.2.3' };
const AUTH: AuthInfo = { token: '', clientId: 'agent', scopes: [] };
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'test-agent', version: '1.0.0' },
};

/** A tools/call as a 2026-07-28 agent sends it: body and headers. */
function call(
  id: number | string,
  name: string,
  options: { args?: unknown; meta?: Record<string, unknown>; headers?: Record<string, string | undefined> } = {},
): { body: Record<string, unknown>; headers: Record<string, string> } {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': REVISION,
    'mcp-method': 'tools/call',
    'mcp-name': name,
    ...options.headers,
  };
  return {
    body: {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: options.args ?? { text: 'hi' }, _meta: { ...ENVELOPE, ...options.meta } },
    },
    headers: Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => !!entry[1])),
  };
}

/** What the test's tools do, by name: the same for the direct path and for the SDK's own handler. */
const handler: ToolCallHandler = (async (
  request: { params: { name: string; arguments?: unknown } },
  ctx: ServerContext,
) => {
  const { name, arguments: args } = request.params;
  if (name === 'refuse') throw new ProtocolError(-32602, 'refused by the tool', { code: 'INVALID_ARGUMENTS' });
  if (name === 'crash') throw new Error('the tool crashed');
  if (name === 'progress') {
    await ctx.mcpReq.notify({
      method: 'notifications/progress',
      params: { progressToken: ctx.mcpReq._meta?.progressToken ?? 'none', progress: 1, total: 2 },
    });
  }
  return { content: [{ type: 'text', text: `${name} ${JSON.stringify(args)} from request ${String(ctx.mcpReq.id)}` }] };
}) as unknown as ToolCallHandler;

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

describe('2026-07-28 tools/call served on one long-lived server', { timeout: 20_000 }, () => {
  let http: HttpServer;
  let url: string;
  let calls: ModernCalls;
  /** Handlers by tool name for the requests the HTTP server serves directly; `handler` otherwise. */
  const special = new Map<string, ToolCallHandler>();
  /** The transport the long-lived server is connected to (taken as it connects). */
  let sharedTransport: Transport | undefined;

  before(async () => {
    const owner = protoWith(Server.prototype, 'connect');
    const sdkConnect = owner.connect as (this: Server, transport: Transport) => Promise<void>;
    owner.connect = function (this: Server, transport: Transport) {
      sharedTransport = transport;
      return sdkConnect.call(this, transport);
    };
    let created: ModernCalls | undefined;
    try {
      created = createModernCalls({
        serverInfo: SERVER_INFO,
        serverOptions: gatewayServerOptions(false),
        revision: REVISION,
        connection: { transport: 'tcp', protocolName: 'http', protocolVersion: REVISION },
      });
    } finally {
      owner.connect = sdkConnect;
    }
    assert.ok(created, 'the SDK server can be bound to the 2026-07-28 era');
    calls = created;
    http = createServer((req, res) => {
      void (async () => {
        const body = await readJsonBody(req, 1 << 20);
        const admitted = calls.admit(req, body);
        if (admitted === undefined) {
          // Left to the SDK's handler: the test compares those with the SDK's answer directly.
          res.statusCode = 418;
          res.end();
          return;
        }
        const name = (admitted.message.params as { name: string }).name;
        // A test may have the call delivered as another era's, which the server refuses before any handler.
        const era = req.headers['x-test-era'];
        const delivered =
          era === 'legacy'
            ? { ...admitted, classification: { era: 'legacy' as const, revision: '2025-11-25' } }
            : admitted;
        await calls.serve(delivered, special.get(name) ?? handler, res, AUTH);
      })();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  });

  after(async () => {
    await calls.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  const post = (request: { body: unknown; headers: Record<string, string> }): Promise<Response> =>
    fetch(url, { method: 'POST', headers: request.headers, body: JSON.stringify(request.body) });

  /** The SDK's own handler, a server per request with the same tools/call handler. */
  const sdk = createMcpHandler(
    () => {
      const server = new Server(SERVER_INFO, gatewayServerOptions(false));
      server.setRequestHandler('tools/call', handler);
      return server;
    },
    { legacy: 'reject', responseMode: 'auto' },
  );
  const postToSdk = (request: { body: unknown; headers: Record<string, string> }): Promise<Response> =>
    sdk.fetch(new Request(url, { method: 'POST', headers: request.headers, body: JSON.stringify(request.body) }), {
      authInfo: AUTH,
      parsedBody: request.body,
    });

  it('answers as the SDK answers the same request on a server of its own: results, errors, invalid params, progress', async () => {
    const requests = [
      call(1, 'echo'),
      call('a-string-id', 'echo', { args: { nested: { list: [1, 2] } } }),
      call(2, 'refuse'),
      call(3, 'crash'),
      // Not an object: the SDK's params check refuses it, in-band.
      call(4, 'echo', { args: ['not', 'an', 'object'] }),
      call(5, 'progress', { meta: { progressToken: 'token-5' } }),
      // A request id the SDK would not accept (a fraction) is refused by its classifier, before any handler.
      call(6.5, 'echo'),
    ];
    for (const request of requests) {
      const direct = await answerOf(await post(request));
      const reference = await answerOf(await postToSdk(request));
      if (direct.status === 418) {
        assert.notEqual(reference.status, 200, `a request the direct path leaves to the SDK is one it refuses`);
        continue;
      }
      assert.deepEqual(direct, reference, `request ${JSON.stringify(request.body)}`);
    }
    // The result carries the agent's own id, and the handler saw it too.
    const echoed = JSON.parse((await answerOf(await post(call(7, 'echo')))).text) as {
      id: unknown;
      result: { content: { text: string }[]; resultType: string };
    };
    assert.equal(echoed.id, 7);
    assert.equal(echoed.result.resultType, 'complete');
    assert.match(echoed.result.content[0]!.text, /from request 7$/);
  });

  it("hands an admitted call to the server's request dispatch, not to the SDK's sorting of inbound messages", async () => {
    assert.ok(sharedTransport?.onmessage !== undefined, 'the long-lived server is connected');
    const sdkOnMessage = sharedTransport.onmessage;
    let sorted = 0;
    sharedTransport.onmessage = (message, extra) => {
      sorted++;
      sdkOnMessage(message, extra);
    };
    try {
      const answer = await answerOf(await post(call(20, 'echo')));
      assert.equal(answer.status, 200);
      assert.match(answer.text, /from request 20/);
      assert.equal(sorted, 0, "the call went through the SDK's onmessage");
    } finally {
      sharedTransport.onmessage = sdkOnMessage;
    }
  });

  it("answers an error raised before the handler runs with the SDK's ladder status", async () => {
    const request = call(8, 'echo', { headers: { 'x-test-era': 'legacy' } });
    const answer = await answerOf(await post(request));
    assert.equal(answer.status, 400);
    assert.equal(answer.contentType, 'application/json');
    const message = JSON.parse(answer.text) as { id: unknown; error: { code: number } };
    assert.equal(message.id, 8);
    assert.equal(message.error.code, ProtocolErrorCode.UnsupportedProtocolVersion);
    // A handler's own error is its answer, with status 200 (the equivalence above).
  });

  it('streams what is sent before the answer as events, the answer last with the agent id', async () => {
    const response = await post(call('p', 'progress', { meta: { progressToken: 42 } }));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const messages = parseSseMessages(await response.text()) as { id?: unknown; method?: string; params?: unknown }[];
    assert.deepEqual(
      messages.map((message) => message.method ?? `answer ${String(message.id)}`),
      ['notifications/progress', 'answer p'],
    );
    assert.deepEqual(messages[0]!.params, { progressToken: 42, progress: 1, total: 2 });
  });

  it("keeps two agents' requests with the same id apart", { timeout: 10_000 }, async () => {
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    special.set('slow', (async () => {
      await slowGate;
      return { content: [{ type: 'text', text: 'slow answer' }] };
    }) as unknown as ToolCallHandler);
    special.set('fast', (async () => ({
      content: [{ type: 'text', text: 'fast answer' }],
    })) as unknown as ToolCallHandler);
    try {
      const slow = post(call(1, 'slow'));
      const fast = await answerOf(await post(call(1, 'fast')));
      releaseSlow();
      const slowAnswer = await answerOf(await slow);
      for (const [answer, text] of [
        [fast, 'fast answer'],
        [slowAnswer, 'slow answer'],
      ] as const) {
        const message = JSON.parse(answer.text) as { id: unknown; result: { content: { text: string }[] } };
        assert.equal(message.id, 1);
        assert.equal(message.result.content[0]!.text, text);
      }
    } finally {
      special.clear();
    }
  });

  it("aborts the call's signal when the agent goes away, and says nothing more to it", async () => {
    let seen: AbortSignal | undefined;
    let answered = false;
    special.set('hang', (async (_request: unknown, ctx: ServerContext) => {
      seen = ctx.mcpReq.signal;
      await new Promise((resolve) => ctx.mcpReq.signal.addEventListener('abort', resolve, { once: true }));
      answered = true;
      return { content: [{ type: 'text', text: 'too late' }] };
    }) as unknown as ToolCallHandler);
    try {
      const controller = new AbortController();
      const request = call(9, 'hang');
      const pending = fetch(url, {
        method: 'POST',
        headers: request.headers,
        body: JSON.stringify(request.body),
        signal: controller.signal,
      }).catch((error: unknown) => error);
      await eventually(() => seen !== undefined, 'the call to start');
      controller.abort();
      await pending;
      await eventually(() => answered, 'the call to see its signal abort');
      assert.ok(seen!.reason instanceof SdkError);
      assert.equal((seen!.reason as SdkError).code, SdkErrorCode.ConnectionClosed);
      // The shared server goes on serving.
      assert.equal((await post(call(10, 'echo'))).status, 200);
    } finally {
      special.clear();
    }
  });

  it("leaves every request it cannot serve exactly as the SDK would to the SDK's handler", () => {
    const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
    const { body, headers } = call(1, 'echo');
    assert.ok(calls.admit(request(headers), body), 'a plain call is served directly');
    const without = (name: string): Record<string, string> =>
      Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
    const cases: [string, Record<string, string>, unknown][] = [
      ['another method', { ...headers, 'mcp-method': 'tools/list' }, { ...body, method: 'tools/list', params: {} }],
      ['no MCP-Protocol-Version header', without('mcp-protocol-version'), body],
      ['no Mcp-Method header', without('mcp-method'), body],
      ['no Mcp-Name header', without('mcp-name'), body],
      ['an Mcp-Name header naming another tool', { ...headers, 'mcp-name': 'other' }, body],
      ['an Mcp-Name header with spaces around it', { ...headers, 'mcp-name': ' echo ' }, body],
      ['an Mcp-Method header naming another method', { ...headers, 'mcp-method': 'tools/list' }, body],
      ['a header naming another revision', { ...headers, 'mcp-protocol-version': '2025-11-25' }, body],
      ['a body without the envelope', headers, { ...body, params: { name: 'echo', arguments: {} } }],
      ['a batch', headers, [body]],
      ['a notification', headers, { jsonrpc: '2.0', method: 'tools/call', params: body['params'] }],
      ['a text body', { ...headers, 'content-type': 'text/plain' }, body],
      [
        'a tool named in the Base64 form',
        { ...headers, 'mcp-name': '=?base64?ZWNobw==?=' },
        call(1, '=?base64?ZWNobw==?=').body,
      ],
      [
        'an envelope naming another revision',
        headers,
        call(1, 'echo', { meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } }).body,
      ],
    ];
    for (const [what, caseHeaders, caseBody] of cases)
      assert.equal(calls.admit(request(caseHeaders), caseBody), undefined, what);
  });

  it("admits through the classifier it is given: an agent's envelope is classified by the SDK once", async () => {
    let classified = 0;
    const counted = createModernCalls({
      serverInfo: SERVER_INFO,
      serverOptions: gatewayServerOptions(false),
      revision: REVISION,
      connection: { transport: 'tcp', protocolName: 'http', protocolVersion: REVISION },
      classifier: createRequestClassifier({
        classify: (request) => {
          classified += 1;
          return classifyInboundRequest(request);
        },
      }),
    })!;
    try {
      const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
      for (const [id, args] of [
        [1, { text: 'a' }],
        [2, { text: 'b' }],
        ['three', {}],
      ] as const) {
        const { body, headers } = call(id, 'echo', { args });
        assert.equal(counted.admit(request(headers), body)?.message, body);
      }
      assert.equal(classified, 1);
      const other = call(4, 'echo', { meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } } });
      assert.ok(counted.admit(request(other.headers), other.body));
      assert.equal(classified, 2);
    } finally {
      await counted.close();
    }
  });

  it('ends the exchanges still open when it closes: their calls see a closed connection', async () => {
    const closing = createModernCalls({
      serverInfo: SERVER_INFO,
      serverOptions: gatewayServerOptions(false),
      revision: REVISION,
      connection: { transport: 'tcp', protocolName: 'http', protocolVersion: REVISION },
    })!;
    let seen: AbortSignal | undefined;
    const hang = (async (_request: unknown, ctx: ServerContext) => {
      seen = ctx.mcpReq.signal;
      return new Promise(() => undefined);
    }) as unknown as ToolCallHandler;
    const server = createServer((req, res) => {
      void readJsonBody(req, 1 << 20).then((body) => closing.serve(closing.admit(req, body)!, hang, res, AUTH));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const request = call(1, 'hang');
      const pending = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, {
        method: 'POST',
        headers: request.headers,
        body: JSON.stringify(request.body),
      });
      await eventually(() => seen !== undefined, 'the call to start');
      await closing.close();
      assert.equal((await pending).status, 499);
      assert.equal((seen!.reason as SdkError).code, SdkErrorCode.ConnectionClosed);
      assert.equal(closing.admit({ headers: request.headers } as unknown as IncomingMessage, request.body), undefined);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
