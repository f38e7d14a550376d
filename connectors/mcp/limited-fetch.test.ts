import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectorError } from '../errors.js';
import { runInCallScope } from './call-scope.js';
import { createLimitedFetch } from './limited-fetch.js';

const REQUEST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't' } });

function answering(body: string, contentType: string) {
  return async (): Promise<Response> => new Response(body, { headers: { 'content-type': contentType } });
}

async function read(response: Response): Promise<string | ConnectorError> {
  try {
    return await response.text();
  } catch (error) {
    return error as ConnectorError;
  }
}

describe('createLimitedFetch', () => {
  it('caps each server-sent event, not the stream', async () => {
    const events = 'data: 0123456789\r\n\r\n'.repeat(50); // many events, each under 20 bytes
    const fetch = createLimitedFetch({
      base: answering(events, 'text/event-stream'),
      timeoutMs: 1000,
      maxMessageBytes: 20,
    });
    assert.equal(await read(await fetch('http://up.test/mcp', { method: 'GET' })), events);

    const big = `data: ${'x'.repeat(30)}\n\n`;
    const oversized = createLimitedFetch({
      base: answering(big, 'text/event-stream'),
      timeoutMs: 1000,
      maxMessageBytes: 20,
    });
    const error = await read(await oversized('http://up.test/mcp', { method: 'GET' }));
    assert.ok(error instanceof ConnectorError && error.code === 'RESPONSE_TOO_LARGE');
  });

  it('caps a JSON body as a whole and fails the call it belongs to', async () => {
    const fetch = createLimitedFetch({
      base: answering('x'.repeat(100), 'application/json'),
      timeoutMs: 1000,
      maxMessageBytes: 50,
    });
    let failed: ConnectorError | undefined;
    const exchange = new AbortController();
    const response = await runInCallScope({ signal: exchange.signal, fail: (e) => (failed = e) }, () =>
      fetch('http://up.test/mcp', { method: 'POST', body: REQUEST }),
    );
    const error = await read(response);
    assert.ok(error instanceof ConnectorError && error.code === 'RESPONSE_TOO_LARGE');
    assert.equal(failed?.code, 'RESPONSE_TOO_LARGE');
  });

  it("sends a call's request through the call's fetch, and aborts it when the call ends", async () => {
    let connectionLevel = 0;
    let seen: AbortSignal | undefined;
    const fetch = createLimitedFetch({
      base: async () => {
        connectionLevel += 1;
        return new Response('{}');
      },
      timeoutMs: 1000,
      maxMessageBytes: 1000,
    });
    const exchange = new AbortController();
    const callFetch = async (_input: string | URL, init?: RequestInit): Promise<Response> => {
      seen = init?.signal ?? undefined;
      return new Response('{}');
    };
    await runInCallScope({ signal: exchange.signal, fetch: callFetch, fail: () => undefined }, async () => {
      await fetch('http://up.test/mcp', { method: 'POST', body: REQUEST });
      // A notification is not the call's request: connection level.
      await fetch('http://up.test/mcp', {
        method: 'POST',
        body: '{"jsonrpc":"2.0","method":"notifications/cancelled"}',
      });
    });
    assert.equal(connectionLevel, 1);
    assert.equal(seen?.aborted, false);
    exchange.abort();
    assert.equal(seen?.aborted, true);
  });

  it('aborts a request that outlives the deadline', async () => {
    const fetch = createLimitedFetch({
      base: (_input, init) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
      timeoutMs: 50,
      maxMessageBytes: 1000,
    });
    // The deadline's timer is unref'd (it must never hold a gateway open), and the stand-in upstream holds
    // nothing open either: keep the test's own event loop alive until the deadline has fired.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await assert.rejects(fetch('http://up.test/mcp', { method: 'POST', body: REQUEST }), (error: unknown) => {
        return error instanceof ConnectorError && error.code === 'UPSTREAM_TIMEOUT';
      });
    } finally {
      clearInterval(keepAlive);
    }
  });
});
