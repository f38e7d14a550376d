/**
 * A byte cap on a response body, shared by the egress guard's fetch and the MCP connector's fetch.
 *
 * The wrapper counts bytes as the caller reads them. When `crossed` says the cap is passed, the stream errors
 * with the caller's own error and the source body is cancelled, so the connection is released instead of
 * being drained. `onSettled` runs exactly once, when the body ended, errored, was cancelled or crossed the cap.
 */

/** Counts the bytes of each chunk read and says whether the cap has been crossed. */
export type ByteCounter = (chunk: Uint8Array) => boolean;

export interface CappedStreamOptions {
  crossed: ByteCounter;
  /** The error the reader gets when the cap is crossed. */
  tooLarge: () => unknown;
  /** Turns a read error of the source body into what the reader should see (default: unchanged). */
  mapError?: (error: unknown) => unknown;
  onSettled: () => void;
}

/** A counter over the whole body. */
export function totalBytesCounter(max: number): ByteCounter {
  let total = 0;
  return (chunk) => (total += chunk.byteLength) > max;
}

export function capStream(body: ReadableStream<Uint8Array>, options: CappedStreamOptions): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const mapError = options.mapError ?? ((error: unknown) => error);
  let settled = false;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    options.onSettled();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        settle();
        controller.error(mapError(error));
        return;
      }
      if (chunk.done) {
        settle();
        controller.close();
        return;
      }
      if (options.crossed(chunk.value)) {
        settle();
        const error = options.tooLarge();
        controller.error(error);
        await reader.cancel(error).catch(() => undefined);
        return;
      }
      controller.enqueue(chunk.value);
    },
    async cancel(reason) {
      settle();
      await reader.cancel(reason).catch(() => undefined);
    },
  });
}
