import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capStream, totalBytesCounter } from './capped-stream.js';

function source(chunks: Uint8Array[], onCancel: (reason: unknown) => void): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
    cancel: onCancel,
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.byteLength;
  return bytes;
}

describe('capStream', () => {
  it('passes a body at the cap through whole and settles once', async () => {
    let settled = 0;
    const capped = capStream(
      source([new Uint8Array(3), new Uint8Array(2)], () => undefined),
      {
        crossed: totalBytesCounter(5),
        tooLarge: () => new Error('too large'),
        onSettled: () => (settled += 1),
      },
    );
    assert.equal(await readAll(capped), 5);
    assert.equal(settled, 1);
  });

  it('errors with the caller’s error one byte past the cap and cancels the source', async () => {
    let settled = 0;
    let cancelledWith: unknown;
    const error = new Error('too large');
    const capped = capStream(
      source([new Uint8Array(3), new Uint8Array(3), new Uint8Array(1)], (reason) => (cancelledWith = reason)),
      { crossed: totalBytesCounter(5), tooLarge: () => error, onSettled: () => (settled += 1) },
    );
    await assert.rejects(readAll(capped), (thrown) => thrown === error);
    assert.equal(cancelledWith, error);
    assert.equal(settled, 1);
  });

  it('maps a read error of the source and settles', async () => {
    let settled = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('reset'));
      },
    });
    const capped = capStream(failing, {
      crossed: totalBytesCounter(5),
      tooLarge: () => new Error('too large'),
      mapError: (error) => new Error(`mapped: ${(error as Error).message}`),
      onSettled: () => (settled += 1),
    });
    await assert.rejects(readAll(capped), /mapped: reset/);
    assert.equal(settled, 1);
  });

  it('settles when the reader cancels', async () => {
    let settled = 0;
    let cancelled = false;
    const capped = capStream(
      source([new Uint8Array(1)], () => (cancelled = true)),
      {
        crossed: totalBytesCounter(5),
        tooLarge: () => new Error('too large'),
        onSettled: () => (settled += 1),
      },
    );
    await capped.cancel('done');
    assert.equal(cancelled, true);
    assert.equal(settled, 1);
  });
});
