import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { openEventStream, type EventStream } from './event-stream.js';

describe('operator event stream', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  /** A server whose one route opens an event stream and hands it to the test. */
  async function serve(maxBufferedBytes: number): Promise<{ url: URL; stream: Promise<EventStream> }> {
    let handOver: (stream: EventStream) => void = () => undefined;
    const stream = new Promise<EventStream>((resolve) => (handOver = resolve));
    server = createServer((req, res) => handOver(openEventStream(req, res, { maxBufferedBytes })));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`), stream };
  }

  it('sends events to a viewer that reads them, and ends when the viewer leaves', async () => {
    const { url, stream } = await serve(1024 * 1024);
    const response = await new Promise<IncomingMessage>((resolve) => get(url, resolve));
    assert.equal(response.headers['content-type'], 'text/event-stream');
    response.setEncoding('utf8');
    const events = await stream;
    let received = '';
    response.on('data', (chunk: string) => (received += chunk));
    events.send('record', { seq: 1 });
    while (!received.includes('event: record')) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.match(received, /^: connected\n\nevent: record\ndata: \{"seq":1\}\n\n$/);
    const closed = new Promise<void>((resolve) => events.onClose(resolve));
    response.destroy();
    await closed;
  });

  it(
    'closes the stream of a viewer that stops reading, instead of buffering every event for it',
    { timeout: 30_000 },
    async () => {
      const { url, stream } = await serve(256 * 1024);
      const socket = connect(Number(url.port), url.hostname);
      await once(socket, 'connect');
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`);
      socket.pause(); // reads nothing from here on
      const events = await stream;
      let ended = false;
      events.onClose(() => (ended = true));
      const payload = { note: 'x'.repeat(10_000) };
      let sent = 0;
      // Up to 100 MB of events: far more than the socket buffers of both ends hold.
      while (!ended && sent < 10_000) {
        events.send('record', payload);
        sent++;
        if (sent % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(ended, `the stream was still open after ${sent} events`);
      socket.destroy();
    },
  );
});
