/**
 * Nothing hangs at the front door: a request that arrives while the gateway is still starting gets a
 * prompt 503 with Retry-After, and a client trickling its request body is cut off after
 * `http.requestTimeoutSeconds`, while a long response (a slow backend call) is not cut by that limit.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/index.js';
import { SLOW_TOOL, startHttpBackend } from '../fixtures/http-backend.js';
import { closedPort, startGatewayProcess, type GatewayProcess } from '../fixtures/gateway-process.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('start-up', () => {
  it('answers 503 with Retry-After while starting, instead of hanging', async () => {
    const port = await closedPort();
    const key = generateApiKey();
    const starting = startGatewayProcess({
      config: () => ({
        listen: { host: '127.0.0.1', port },
        policy: { watch: false },
        // An upstream that takes three seconds to fail keeps the gateway in start-up that long.
        connectors: [{ id: 'late', kind: 'mcp', transport: 'stdio', command: 'sleep', args: ['3'] }],
        agents: [{ id: 'bot', apiKeys: [{ sha256: digestApiKey(key) }] }],
      }),
    });
    let started = false;
    void starting.then(
      () => (started = true),
      () => (started = true),
    );
    let early: Response | undefined;
    // Poll from before the port is bound until start-up is over (module loading may take a while).
    while (early === undefined && !started) {
      // A request that hangs fails here (an unattached port never answers, even after start-up).
      early = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) }).catch(
        (error: unknown) => {
          if ((error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return undefined;
          throw error;
        },
      );
      if (early === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const gw: GatewayProcess = await starting;
    try {
      assert.ok(early !== undefined, 'the port answered during start-up');
      assert.equal(early.status, 503);
      assert.equal(early.headers.get('retry-after'), '1');
      assert.deepEqual(await early.json(), { status: 'starting', reason: 'the gateway is starting; retry shortly' });
      const ready = await fetch(`${gw.baseUrl}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      await gw.close();
    }
  });
});

describe('request receipt', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let agent: Client;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        http: { requestTimeoutSeconds: 1 },
        connectors: [
          {
            id: 'api',
            kind: 'http',
            baseUrl: backend.url,
            tools: [SLOW_TOOL],
          },
        ],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'bot', tools: ['api_slow'] }],
    );
    agent = await gw.connect('bot');
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  it('cuts off a client that trickles its body, with 408', async () => {
    const { port } = new URL(gw.gateway.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let received = '';
    // One byte every 200 ms: it would take minutes to send the body. The trickle stops at the answer; a byte
    // already on its way when the gateway closes the connection is answered with a reset, which the client
    // then reads as ECONNRESET after the answer: the answer is what this test asserts.
    let socketError: NodeJS.ErrnoException | undefined;
    socket.on('error', (error: NodeJS.ErrnoException) => (socketError = error));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${gw.agents['bot']!.key}\r\n` +
        'Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, 200);
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
      clearInterval(trickle);
    });
    await closed;
    clearInterval(trickle);
    assert.match(received, /^HTTP\/1\.1 408 /);
    if (socketError !== undefined) assert.equal(socketError.code, 'ECONNRESET', String(socketError));
  });

  it('does not cut a response that takes longer than the receive limit', async () => {
    const result = await agent.callTool({ name: 'api_slow', arguments: { ms: 2500 } });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.ok(backend.requests.some((r) => r.url === '/slow?ms=2500'));
  });
});
