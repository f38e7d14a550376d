import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endOnLoss } from './listen-loss.js';

function sseResponse(): { response: Response; push(text: string): void; cancelled: () => boolean } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => void (cancelled = true),
  });
  return {
    response: new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    push: (text) => controller.enqueue(new TextEncoder().encode(text)),
    cancelled: () => cancelled,
  };
}

describe('listen streams on a bus that can lose events', () => {
  it('pass the stream through, then end it with STORE_UNAVAILABLE for the listen request when events are lost', async () => {
    const listeners = new Set<(reason: string) => void>();
    const source = sseResponse();
    const wrapped = endOnLoss(source.response, 7, (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    });
    source.push('event: message\ndata: {"method":"ack"}\n\n');
    const reader = wrapped.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /ack/);
    for (const listener of [...listeners]) listener('connection dropped');
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read())
      rest += new TextDecoder().decode(next.value);
    const message = JSON.parse(rest.replace(/^event: message\ndata: /, '')) as {
      id: number;
      error: { data: { code: string } };
    };
    assert.equal(message.id, 7);
    assert.equal(message.error.data.code, 'STORE_UNAVAILABLE');
    assert.equal(source.cancelled(), true, 'the SDK stream was torn down');
    assert.equal(listeners.size, 0, 'nothing is watched after the end');
  });

  it('leave JSON answers alone', () => {
    const json = Response.json({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } });
    assert.equal(
      endOnLoss(json, 1, () => () => undefined),
      json,
    );
  });
});
