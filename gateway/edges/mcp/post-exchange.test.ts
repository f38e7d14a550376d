import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { PostExchange } from './post-exchange.js';

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
});
