import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRawPool, openRawSession } from './lib/raw-client.js';
import { startTarget } from './lib/targets.js';
import { MAX_PAYLOAD_BYTES, payloadText } from './run.js';
import { createPassThrough, endToEndHeaders } from './passthrough.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A pass-through in front of `upstream` for the length of `run`, given the hop's URL; closes both after. */
async function throughHop(upstream: Server, run: (hopUrl: string) => Promise<void>): Promise<void> {
  const hop = createPassThrough(new URL(await listen(upstream)));
  try {
    await run(await listen(hop));
  } finally {
    await close(hop);
    await close(upstream);
  }
}

/** One request through node:http, which sends whatever headers it is given. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('bench pass-through', () => {
  const seen: Seen[] = [];
  let releaseStream: (() => void) | undefined;
  let upstreamClosedEarly: Promise<void> | undefined;
  let upstream: Server;
  let upstreamUrl: string;
  let proxy: Server;
  let proxyUrl: string;

  before(async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        releaseStream = () => res.end('data: second\n\n');
        return;
      }
      if (req.url === '/hang') {
        // Never answers: the test's client leaves, and the pass-through must take this request down.
        upstreamClosedEarly = once(res, 'close').then(() => undefined);
        return;
      }
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(201, {
          'content-type': 'application/json',
          'x-upstream': 'yes',
          'keep-alive': 'timeout=77',
          connection: 'keep-alive, x-hop',
          'x-hop': 'dropped',
        });
        res.end(JSON.stringify({ echoed: body }));
      });
    });
    upstreamUrl = await listen(upstream);
    proxy = createPassThrough(new URL(upstreamUrl));
    proxyUrl = await listen(proxy);
  });

  after(async () => {
    await close(proxy);
    await close(upstream);
  });

  it('forwards method, target, body and end-to-end headers, and the answer unchanged', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { text: 'héllo "x"' } });
    const answer = await send(`${proxyUrl}/mcp?a=1&b=2`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'mcp-session-id': 'abc',
        connection: 'keep-alive, x-named',
        'x-named': 'hop-by-hop because Connection names it',
        'proxy-authorization': 'Basic c2VjcmV0',
        te: 'trailers',
      },
      body,
    });
    assert.equal(answer.status, 201);
    assert.deepEqual(JSON.parse(answer.body), { echoed: body });
    assert.equal(answer.headers['x-upstream'], 'yes');
    assert.equal(answer.headers['x-hop'], undefined);
    assert.notEqual(answer.headers['keep-alive'], 'timeout=77');

    const request = seen.at(-1);
    assert.ok(request !== undefined);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/mcp?a=1&b=2');
    assert.equal(request.body, body);
    assert.equal(request.headers['mcp-session-id'], 'abc');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['host'], new URL(upstreamUrl).host);
    for (const hop of ['x-named', 'proxy-authorization', 'te']) assert.equal(request.headers[hop], undefined, hop);
  });

  it('streams an answer as it comes: the first event arrives before the upstream has finished', async () => {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      request(`${proxyUrl}/stream`, resolve).on('error', reject).end();
    });
    response.setEncoding('utf8');
    const [first] = (await once(response, 'data')) as [string];
    assert.equal(first, 'data: first\n\n');
    assert.ok(releaseStream !== undefined);
    let rest = '';
    response.on('data', (chunk: string) => (rest += chunk));
    releaseStream();
    await once(response, 'end');
    assert.equal(rest, 'data: second\n\n');
  });

  it('takes the upstream request down when the client leaves first', { timeout: 10_000 }, async () => {
    const client = request(`${proxyUrl}/hang`);
    client.on('error', () => undefined);
    client.end();
    while (upstreamClosedEarly === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    client.destroy();
    await upstreamClosedEarly;
  });

  it('answers 502 when the upstream cannot be reached', async () => {
    const dead = createServer();
    const deadUrl = await listen(dead);
    await close(dead);
    const orphan = createPassThrough(new URL(deadUrl));
    const orphanUrl = await listen(orphan);
    try {
      const answer = await send(`${orphanUrl}/mcp`, { method: 'POST', body: '{}' });
      assert.equal(answer.status, 502);
      assert.match(answer.body, /^upstream unreachable \(ECONNREFUSED\)/);
    } finally {
      await close(orphan);
    }
  });

  it('sends a request again on a connection of its own when the upstream resets a reused one', async () => {
    // The upstream answers the first request of each connection and resets the connection at the second,
    // as an upstream closing a kept-alive connection just as it is reused does.
    const requestsOn = new WeakMap<object, number>();
    const answered: string[] = [];
    const flaky = createServer((req, res) => {
      const count = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, count);
      if (count > 1) {
        req.socket.destroy();
        return;
      }
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        answered.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    });
    await throughHop(flaky, async (hopUrl) => {
      for (const body of ['{"n":1}', '{"n":2}', '{"n":3}']) {
        const answer = await send(`${hopUrl}/mcp`, { method: 'POST', body });
        assert.equal(answer.status, 200, answer.body);
        assert.equal(answer.body, body);
      }
    });
    assert.deepEqual(answered, ['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('names the error when the upstream resets a request it does not send again', async () => {
    // Every connection is reset at its first request: there is no reused connection to blame.
    await throughHop(
      createServer((req) => req.socket.destroy()),
      async (hopUrl) => {
        const answer = await send(`${hopUrl}/mcp`, { method: 'POST', body: '{}' });
        assert.equal(answer.status, 502);
        assert.match(answer.body, /^upstream unreachable \(ECONNRESET\)/);
      },
    );
  });

  it('refuses an upstream that is not an http: origin', () => {
    for (const upstream of ['https://127.0.0.1:1', 'http://127.0.0.1:1/mcp', 'http://127.0.0.1:1/?a=1'])
      assert.throws(() => createPassThrough(new URL(upstream)), /must be an http: origin/, upstream);
    assert.doesNotThrow(() => createPassThrough(new URL('http://127.0.0.1:1')).close());
  });

  it('keeps end-to-end headers only', () => {
    assert.deepEqual(
      endToEndHeaders({
        connection: 'close, X-Custom',
        'x-custom': '1',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        trailer: 'x-t',
        accept: 'text/event-stream',
        'set-cookie': ['a=1', 'b=2'],
      }),
      { accept: 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] },
    );
  });
});

describe('bench pass-through target', () => {
  it(
    'carries an MCP session to the echo server and its refusals back, as the benchmark drives it',
    { timeout: 60_000 },
    async () => {
      const target = await startTarget('passthrough');
      const pool = createRawPool(target.url, 2);
      try {
        const session = await openRawSession(pool, { url: target.url }, 'legacy', 'through-the-hop');
        try {
          for (const text of ['through the hop', payloadText(MAX_PAYLOAD_BYTES)])
            assert.equal(await session.callTool(target.tool, { text }, text), undefined);
        } finally {
          await session.close();
        }
        // 2026-07-28 requests (no session) go through the hop as well.
        const modern = await openRawSession(pool, { url: target.url }, 'modern', 'modern');
        assert.equal(await modern.callTool(target.tool, { text: 'no session' }, 'no session'), undefined);
        // The echo server's refusal comes back through the hop as it would directly.
        const refused = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': 'no-such-session',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: target.tool } }),
        });
        assert.equal(refused.status, 404);
        assert.equal(((await refused.json()) as { error?: { code?: number } }).error?.code, -32001);
      } finally {
        await pool.close();
        await target.close();
      }
    },
  );
});
