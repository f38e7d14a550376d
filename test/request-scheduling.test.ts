import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TASK_HANDLE_META_KEY } from '../gateway/edges/mcp/modern-task.js';
import type { CallContext } from '../gateway/pipeline/index.js';
import { INITIALIZE, rawPost, startGatewayOverHttpUpstream, type GatewayOverHttpUpstream } from './helpers/gateway.js';
import { modernRequestInit } from './helpers/modern.js';

/**
 * When a request's work starts relative to the rest of the gateway's: only once the I/O the event loop
 * already has in hand (a synced audit write done, an upstream's answer, another agent's request) has been
 * handled, so that calls under way finish before new ones start. Both eras: a 2026-07-28 request and a
 * request on a 2025 session.
 */
describe('request scheduling', () => {
  let gw: GatewayOverHttpUpstream;
  let key: string;
  /** What happened, in order: `call:<text>` when the pipeline starts a call, `io` for the test's own I/O. */
  let events: string[] = [];

  before(async () => {
    gw = await startGatewayOverHttpUpstream([{ id: 'agent', tools: ['remote_*'] }]);
    key = gw.agents['agent']!.key;
    const pipeline = gw.gateway.pipeline;
    const callTool = pipeline.callTool.bind(pipeline);
    pipeline.callTool = (name: string, args: Record<string, unknown>, ctx: CallContext) => {
      events.push(`call:${String(args['text'])}`);
      return callTool(name, args as never, ctx);
    };
  });
  after(async () => {
    await gw?.close();
  });

  /** One HTTP/1.1 POST to the gateway's MCP endpoint as bytes. */
  function httpPost(headers: Record<string, string>, body: string): string {
    const url = new URL(gw.gateway.mcpUrl);
    const lines = [`POST ${url.pathname} HTTP/1.1`, `Host: ${url.host}`];
    for (const [name, value] of Object.entries({ ...headers, authorization: `Bearer ${key}` }))
      lines.push(`${name}: ${value}`);
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    return `${lines.join('\r\n')}\r\n\r\n${body}`;
  }

  /** A 2026-07-28 `tools/call` of the echo tool, continuing `task` when given. */
  function modernEcho(text: string, task?: string): string {
    const meta = task !== undefined ? { meta: { [TASK_HANDLE_META_KEY]: task } } : {};
    const { headers, body } = modernRequestInit('tools/call', { name: 'remote_echo', arguments: { text } }, meta);
    return httpPost(headers, body);
  }

  let nextLegacyId = 100;
  /** A `tools/call` of the echo tool on a 2025 session. */
  function legacyEcho(session: string, text: string): string {
    const body = {
      jsonrpc: '2.0',
      id: nextLegacyId++,
      method: 'tools/call',
      params: { name: 'remote_echo', arguments: { text } },
    };
    return httpPost(
      {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        'mcp-protocol-version': INITIALIZE.params.protocolVersion,
      },
      JSON.stringify(body),
    );
  }

  async function connectTo(port: number): Promise<net.Socket> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return socket;
  }

  /** The next complete HTTP response on `socket` (a body with a Content-Length). */
  function nextResponse(socket: net.Socket): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const text = received.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN);
        if (received.length < end + 4 + length) return;
        socket.off('data', onData);
        resolve({
          status: Number(text.slice(9, 12)),
          body: received.subarray(end + 4, end + 4 + length).toString('utf8'),
        });
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }

  /**
   * Sends `request` and makes a socket of the test's own readable right after it, before the event loop
   * next polls, on a connection the gateway has already served `warmUp` on (so it is accepted and the
   * request's task exists). Resolves to the answer's body; `events` then holds what happened, in order.
   */
  async function sendBesideOtherIo(warmUp: string, request: (warmAnswer: string) => string): Promise<string> {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => other.once('connection', resolve));
    const writer = await connectTo((other.address() as net.AddressInfo).port);
    const reader = await accepted;
    const agent = await connectTo(Number(new URL(gw.gateway.mcpUrl).port));
    try {
      const warm = nextResponse(agent);
      agent.write(warmUp);
      const warmAnswer = await warm;
      assert.equal(warmAnswer.status, 200, warmAnswer.body);

      events = [];
      reader.once('data', () => events.push('io'));
      const answered = nextResponse(agent);
      // Both become readable before the event loop next polls: the request first, the other socket after.
      agent.write(request(warmAnswer.body));
      writer.write('x');
      const answer = await answered;
      assert.equal(answer.status, 200, answer.body);
      return answer.body;
    } finally {
      agent.destroy();
      writer.destroy();
      reader.destroy();
      other.close();
    }
  }

  it('handles the I/O already due before it starts the work of a 2026-07-28 request', async () => {
    const answer = await sendBesideOtherIo(modernEcho('warm'), (warm) => {
      const task = (JSON.parse(warm) as { result?: { _meta?: Record<string, string> } }).result?._meta?.[
        TASK_HANDLE_META_KEY
      ];
      assert.ok(task !== undefined, 'the first answer carries a task handle');
      return modernEcho('second', task);
    });
    assert.match(answer, /"text":"second"/);
    assert.deepEqual(events, ['io', 'call:second']);
  });

  it('handles the I/O already due before it starts the work of a request on a 2025 session', async () => {
    const opened = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${key}` });
    assert.equal(opened.status, 200);
    await opened.body?.cancel();
    const session = opened.headers.get('mcp-session-id') ?? '';
    const initialized = await rawPost(
      gw.gateway.mcpUrl,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { authorization: `Bearer ${key}`, 'mcp-session-id': session },
    );
    assert.equal(initialized.status, 202);

    const answer = await sendBesideOtherIo(legacyEcho(session, 'warm'), () => legacyEcho(session, 'second'));
    assert.match(answer, /"text":"second"/);
    assert.deepEqual(events, ['io', 'call:second']);
  });
});
