import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { PostExchange } from './post-exchange.js';

/** An answer in parts, as `messageJson` makes one for a listing of kept values (the ü is two bytes). */
const PARTS = [
  Buffer.from('{"result":{"tools":'),
  Buffer.from('[{"name":"ü"}]'),
  Buffer.from('},"jsonrpc":"2.0","id":1}'),
];
const PARTS_TEXT = Buffer.concat(PARTS).toString();

async function served(answer: (exchange: PostExchange) => void): Promise<Response> {
  const server = createServer((_req, res: ServerResponse) => {
    answer(new PostExchange(res, { keepAliveMs: 60_000, onDone: () => undefined }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST' });
    await response.clone().arrayBuffer();
    return response;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('PostExchange', () => {
  it('writes nothing more once answered: a late event or answer neither reaches the agent nor fails the response', async () => {
    const errors: unknown[] = [];
    let done = 0;
    let exchange: PostExchange | undefined;
    const server = createServer((_req, res: ServerResponse) => {
      res.on('error', (error) => errors.push(error));
      exchange = new PostExchange(res, { keepAliveMs: 60_000, onDone: () => done++ });
      exchange.answer('{"jsonrpc":"2.0","id":1,"result":{}}');
      exchange.event('{"jsonrpc":"2.0","method":"notifications/progress","params":{}}');
      exchange.answer('{"jsonrpc":"2.0","id":1,"result":{"late":true}}', 500);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST' });
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(await response.text(), '{"jsonrpc":"2.0","id":1,"result":{}}');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(errors, []);
      assert.equal(done, 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('writes an answer given in parts as one JSON body, with its length in bytes', async () => {
    const response = await served((exchange) => exchange.answer(PARTS));
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(PARTS_TEXT)));
    assert.equal(response.headers.get('transfer-encoding'), null);
    assert.equal(await response.text(), PARTS_TEXT);
  });

  it('writes an answer given in parts as the last event of a stream that has one before it', async () => {
    const response = await served((exchange) => {
      exchange.event('{"jsonrpc":"2.0","method":"notifications/progress","params":{}}');
      exchange.answer(PARTS);
    });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.equal(
      await response.text(),
      'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n' +
        `event: message\ndata: ${PARTS_TEXT}\n\n`,
    );
  });
});
