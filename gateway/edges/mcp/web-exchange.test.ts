import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { keepJson } from '../../kernel/index.js';
import { isJsonResponse, jsonResponse, sendFetchResponse, toFetchRequest } from './web-exchange.js';

type Handler = (request: Request) => Response | Promise<Response>;

describe('web-standard exchange over node:http', () => {
  let server: Server;
  let port: number;
  let handler: Handler = () => new Response(null, { status: 204 });
  let followAgent = true;
  const seen: Request[] = [];
  /** The raw header list Node received for each request, beside `seen`. */
  const seenRaw: (readonly string[])[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const request = toFetchRequest(req, res, { followAgent });
      seen.push(request);
      seenRaw.push(req.rawHeaders);
      void Promise.resolve(handler(request)).then((response) => sendFetchResponse(response, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Sends a request and reports the response head and each body chunk as it arrives. */
  function exchange(
    method: string,
    onChunk: (chunk: string) => void = () => undefined,
  ): Promise<{ head: IncomingMessage; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method, path: '/mcp?x=1', headers: { 'x-test': 'a' } });
      req.on('response', (head) => {
        let body = '';
        head.setEncoding('utf8');
        head.on('data', (chunk: string) => {
          body += chunk;
          onChunk(chunk);
        });
        head.on('end', () => resolve({ head, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('builds the request with method, URL and headers', async () => {
    handler = () => new Response(null, { status: 204 });
    await exchange('DELETE');
    const request = seen.at(-1)!;
    assert.equal(request.method, 'DELETE');
    assert.equal(new URL(request.url).pathname, '/mcp');
    assert.equal(new URL(request.url).search, '?x=1');
    assert.equal(request.headers.get('x-test'), 'a');
  });

  /** Sends a bodiless request with these headers (an array value: the header on several lines). */
  async function sendHeaders(
    headers: Record<string, string | string[]>,
    followsAgent = true,
  ): Promise<IncomingMessage> {
    followAgent = followsAgent;
    handler = () => new Response(null, { status: 204 });
    try {
      return await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/mcp', headers });
        req.on('response', (head) => {
          head.resume();
          head.on('end', () => resolve(head));
        });
        req.on('error', reject);
        req.end();
      });
    } finally {
      followAgent = true;
    }
  }

  /** A real undici `Headers` of the raw list Node received. */
  function undiciHeadersOf(raw: readonly string[]): Headers {
    const headers = new Headers();
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    return headers;
  }

  it('answers header reads as undici Headers of the same list would: any case, repeats joined, absent null', async () => {
    await sendHeaders({
      'X-Dup': ['one', 'two'],
      'Mcp-Method': 'tools/call',
      'x-empty': '',
      accept: 'application/json',
    });
    const request = seen.at(-1)!;
    const reference = undiciHeadersOf(seenRaw.at(-1)!);
    for (const name of [
      'x-dup',
      'X-DUP',
      'mcp-method',
      'MCP-Method',
      'x-empty',
      'accept',
      'host',
      'absent',
      'content-type',
    ])
      assert.equal(request.headers.get(name), reference.get(name), name);
    assert.equal(request.headers.get('x-dup'), 'one, two');
    assert.equal(request.headers.get('x-empty'), '');
    assert.equal(request.headers.get('absent'), null);
    assert.equal(request.headers.has('Mcp-Method'), true);
    assert.equal(request.headers.has('absent'), false);
    // What undici refuses, it still refuses.
    assert.throws(() => request.headers.get('bad name'), TypeError);
    assert.throws(() => request.headers.has('bad:name'), TypeError);
  });

  it('serves the rest of the Headers and Request interface from a real request of the same exchange', async () => {
    await sendHeaders({ 'X-Dup': ['one', 'two'], 'x-test': 'a' });
    const request = seen.at(-1)!;
    assert.ok(request instanceof Request);
    assert.ok(request.headers instanceof Headers);
    assert.deepEqual(
      [...request.headers].filter(([name]) => name.startsWith('x-')),
      [
        ['x-dup', 'one, two'],
        ['x-test', 'a'],
      ],
    );
    assert.equal(Object.prototype.toString.call(request), '[object Request]');
    assert.equal(request.body, null);
    assert.equal(request.bodyUsed, false);
    assert.equal(request.cache, 'default');
    assert.equal(await request.text(), '');
    const copy = request.clone();
    assert.equal(copy.url, request.url);
    assert.equal(copy.method, 'POST');
    assert.equal(copy.headers.get('x-dup'), 'one, two');
    // A change through the full interface is what every read sees afterwards.
    request.headers.set('x-test', 'changed');
    request.headers.append('x-new', 'yes');
    assert.equal(request.headers.get('x-test'), 'changed');
    assert.equal(request.headers.get('X-New'), 'yes');
    assert.equal(request.headers.has('x-new'), true);
  });

  it('gives a request that does not follow the agent a signal that never aborts', async () => {
    await sendHeaders({ 'x-test': 'a' }, false);
    const request = seen.at(-1)!;
    assert.ok(request.signal instanceof AbortSignal);
    assert.equal(request.signal.aborted, false);
    assert.equal(request.headers.get('x-test'), 'a');
  });

  it('writes a body that is complete at once with a Content-Length, not chunked', async () => {
    handler = () => {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('event: message\ndata: {"id":1}\n\n'));
          controller.close();
        },
      });
      return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream', 'mcp-x': 'y' } });
    };
    const { head, body } = await exchange('POST');
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-type'], 'text/event-stream');
    assert.equal(head.headers['mcp-x'], 'y');
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(head.headers['transfer-encoding'], undefined);
    assert.equal(body, 'event: message\ndata: {"id":1}\n\n');
  });

  it('writes a JSON response of known bytes as Response.json would answer, in one write', async () => {
    const message = { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'héllo' }] } };
    handler = () => Response.json(message, { status: 200, headers: { 'Content-Type': 'application/json' } });
    const viaUndici = await exchange('POST');
    handler = () => jsonResponse(message);
    const direct = await exchange('POST');
    assert.equal(direct.head.statusCode, viaUndici.head.statusCode);
    assert.equal(direct.head.headers['content-type'], viaUndici.head.headers['content-type']);
    assert.equal(direct.head.headers['content-length'], viaUndici.head.headers['content-length']);
    assert.equal(direct.head.headers['transfer-encoding'], undefined);
    assert.equal(direct.body, viaUndici.body);
    assert.deepEqual(JSON.parse(direct.body), message);
  });

  it('writes a JSON response listing kept values as Response.json would answer, from their kept bytes', async () => {
    const tools = [keepJson({ name: 'héllo', inputSchema: { type: 'object' } }), keepJson({ name: 'b' })];
    const message = { result: { tools, ttlMs: 0 }, jsonrpc: '2.0', id: 9 };
    handler = () => Response.json(message);
    const viaUndici = await exchange('POST');
    handler = () => jsonResponse(message);
    const direct = await exchange('POST');
    assert.equal(direct.head.headers['content-length'], viaUndici.head.headers['content-length']);
    assert.equal(direct.head.headers['transfer-encoding'], undefined);
    assert.equal(direct.body, viaUndici.body);
    // Its Response interface reads the same bytes.
    assert.deepEqual(await jsonResponse(message).json(), JSON.parse(viaUndici.body));
  });

  it('serves the Response interface of a JSON response from a real response of the same bytes', async () => {
    const message = { jsonrpc: '2.0', id: 'a', result: {} };
    const response = jsonResponse(message, 202);
    assert.ok(response instanceof Response);
    assert.ok(isJsonResponse(response));
    assert.ok(!isJsonResponse(Response.json(message)));
    assert.equal(response.status, 202);
    assert.equal(response.ok, true);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.deepEqual(await response.json(), message);
    assert.equal(response.bodyUsed, true);
  });

  it('delivers each chunk of a body that is still open before the next one exists', async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    handler = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            controller = c;
            c.enqueue(new TextEncoder().encode('first\n'));
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    const { body } = await exchange('POST', (chunk) => {
      // The second chunk is produced only once the first reached the agent.
      if (chunk === 'first\n') {
        controller.enqueue(new TextEncoder().encode('second\n'));
        controller.close();
      }
    });
    assert.equal(body, 'first\nsecond\n');
  });

  it('shows a GET stream its headers at once, before any event', async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    handler = () =>
      new Response(new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }), {
        headers: { 'content-type': 'text/event-stream' },
      });
    const head = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path: '/mcp' });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    assert.equal(head.statusCode, 200);
    head.resume();
    const ended = new Promise((resolve) => head.on('end', resolve));
    controller.close();
    await ended;
  });

  /** Serves a response that stays open, and has the agent go away once it has read its first chunk. */
  async function leaveMidResponse(headers: Record<string, string> = {}): Promise<Request> {
    let cancelled!: () => void;
    const wasCancelled = new Promise<void>((resolve) => (cancelled = resolve));
    handler = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(new TextEncoder().encode('partial\n')),
          cancel: () => cancelled(),
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/mcp', headers });
      req.on('response', (head) => {
        head.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no response')), 5000).unref();
    });
    // The handler hears of it through its body stream being cancelled.
    await wasCancelled;
    return seen.at(-1)!;
  }

  it('aborts the request signal when the agent goes away before any response, and not when it stays', async () => {
    let heard: Promise<boolean> = Promise.resolve(false);
    handler = (request) => {
      heard = new Promise<boolean>((resolve) => {
        if (request.signal.aborted) resolve(true);
        request.signal.addEventListener('abort', () => resolve(true), { once: true });
        setTimeout(() => resolve(false), 5000).unref();
      });
      return heard.then(() => new Response(null, { status: 204 }));
    };
    try {
      await new Promise<void>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/mcp' });
        req.on('error', () => resolve());
        req.end();
        // Gone while the handler is still working: no response has started.
        setTimeout(() => req.destroy(), 100);
      });
      assert.equal(await heard, true, 'the handler heard that the agent left');
      const request = seen.at(-1)!;
      assert.equal(request.signal.aborted, true);
      assert.ok(request instanceof Request);
      assert.equal(request.method, 'POST');

      handler = (request) => new Response(request.signal.aborted ? 'aborted' : 'live', { status: 200 });
      const { body } = await exchange('POST');
      assert.equal(body, 'live');
      assert.equal(seen.at(-1)!.signal.aborted, false, 'a completed exchange leaves the signal alone');
    } finally {
      handler = () => new Response(null, { status: 204 });
    }
  });

  it('cancels the body stream when the agent goes away', async () => {
    const request = await leaveMidResponse();
    assert.equal(request.signal.aborted, true, 'the request signal says the agent left');
  });

  it('without followAgent, still cancels the body stream when the agent goes away, leaving the signal alone', async () => {
    followAgent = false;
    try {
      const request = await leaveMidResponse({ 'x-test': 'b' });
      assert.equal(request.headers.get('x-test'), 'b');
      assert.equal(request.method, 'POST');
      assert.equal(request.signal.aborted, false);
    } finally {
      followAgent = true;
    }
  });
});
