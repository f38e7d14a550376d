/**
 * The TypeScript SDK's v2 client against the gateway, in both eras, with the era checked on the wire: the
 * v2 client speaks 2025 (initialize, a session) unless told to negotiate, so every test records what was
 * actually sent and answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Server, type Transport } from '@modelcontextprotocol/server';
import { startGatewayOverHttpUpstream, type GatewayOverHttpUpstream } from './helpers/gateway.js';
import { protoWith } from './helpers/prototype-spy.js';

interface Exchange {
  method?: string;
  body: Record<string, unknown>;
  requestHeaders: Headers;
  status: number;
  responseHeaders: Headers;
  responseText: string;
}

/** A fetch that records each exchange (request headers and body, response headers and text). */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method !== 'POST') return response;
    const body = JSON.parse(String(init.body)) as Record<string, unknown>;
    const text = await response.clone().text();
    log.push({
      ...(typeof body['method'] === 'string' ? { method: body['method'] } : {}),
      body,
      requestHeaders: new Headers(init.headers),
      status: response.status,
      responseHeaders: response.headers,
      responseText: text,
    });
    return response;
  };
}

describe('SDK v2 client through the gateway', () => {
  let gw: GatewayOverHttpUpstream;

  before(async () => {
    gw = await startGatewayOverHttpUpstream([{ id: 'full', tools: ['remote_*'] }]);
  });
  after(async () => {
    await gw?.close();
  });

  async function connect(log: Exchange[], modern: boolean): Promise<Client> {
    const client = new Client(
      { name: 'v2-test', version: '1.0.0' },
      {
        capabilities: { elicitation: {} },
        ...(modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
      },
    );
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gw.gateway.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${gw.agents['full']!.key}` } },
        fetch: recordingFetch(log),
      }),
    );
    return client;
  }

  it('speaks 2025-11-25 with a session by default', async () => {
    const log: Exchange[] = [];
    const client = await connect(log, false);
    try {
      const result = await client.callTool({ name: 'remote_echo', arguments: { text: 'legacy' } });
      assert.match(JSON.stringify(result.content), /legacy/);
      assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
      assert.equal(log[0]?.method, 'initialize');
      assert.ok(log[0]?.responseHeaders.get('mcp-session-id'), 'initialize opened a session');
      const call = log.find((e) => e.method === 'tools/call');
      assert.ok(call?.requestHeaders.get('mcp-session-id'), 'the call rode the session');
      assert.equal(call?.requestHeaders.get('mcp-protocol-version'), '2025-11-25');
    } finally {
      await client.close();
    }
  });

  it("hands a session's tool call to the gateway's server without the SDK's sorting of inbound messages", async () => {
    // Every transport connected meanwhile (the session's, and any in this process) counts the gateway's tool
    // calls that reach the onmessage the SDK's connect set.
    const owner = protoWith(Server.prototype, 'connect');
    const sdkConnect = owner.connect as (this: Server, transport: Transport) => Promise<void>;
    let sorted = 0;
    owner.connect = function (this: Server, transport: Transport) {
      const connected = sdkConnect.call(this, transport);
      const sdkOnMessage = transport.onmessage;
      transport.onmessage = (message, extra) => {
        const params = 'params' in message ? (message.params as { name?: unknown } | undefined) : undefined;
        if ('method' in message && message.method === 'tools/call' && params?.name === 'remote_echo') sorted++;
        sdkOnMessage?.(message, extra);
      };
      return connected;
    };
    const log: Exchange[] = [];
    let client: Client | undefined;
    try {
      client = await connect(log, false);
      const result = await client.callTool({ name: 'remote_echo', arguments: { text: 'direct' } });
      assert.match(JSON.stringify(result.content), /direct/);
      assert.ok(log.find((e) => e.method === 'tools/call')?.requestHeaders.get('mcp-session-id'), 'on a session');
      assert.equal(sorted, 0, "the session's tool call went through the SDK's onmessage");
    } finally {
      owner.connect = sdkConnect;
      await client?.close();
    }
  });

  it('speaks 2026-07-28 statelessly when pinned, and answers input_required rounds', async () => {
    const log: Exchange[] = [];
    const client = await connect(log, true);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      const echo = await client.callTool({ name: 'remote_echo', arguments: { text: 'modern' } });
      assert.match(JSON.stringify(echo.content), /modern/);
      const asked = await client.callTool({ name: 'remote_ask_user', arguments: {} });
      assert.match(JSON.stringify(asked.content), /Ada/);

      assert.equal(log[0]?.method, 'server/discover');
      assert.ok(!log.some((e) => e.method === 'initialize'), 'no initialize handshake');
      for (const exchange of log) {
        assert.equal(exchange.requestHeaders.get('mcp-session-id'), null);
        assert.equal(exchange.responseHeaders.get('mcp-session-id'), null);
        assert.equal(exchange.requestHeaders.get('mcp-protocol-version'), '2026-07-28');
        assert.equal(exchange.requestHeaders.get('mcp-method'), exchange.method);
      }
      const rounds = log.filter(
        (e) => e.method === 'tools/call' && (e.body['params'] as { name: string }).name === 'remote_ask_user',
      );
      assert.equal(rounds.length, 2, 'one input_required round, then the retry');
      assert.match(rounds[0]!.responseText, /"input_required"/);
      assert.equal(typeof (rounds[1]!.body['params'] as { requestState?: unknown }).requestState, 'string');
    } finally {
      await client.close();
    }
  });
});
