/**
 * A `subscriptions/listen` stream that can no longer hear every change must not stay open and silent: the
 * agent would trust a stream that misses events. `endOnLoss` wraps the SDK's listen stream so that, when
 * the event bus reports the loss, the stream gets a final JSON-RPC error for the listen request
 * (STORE_UNAVAILABLE) and closes; the agent opens a new one when the gateway hears changes again.
 */
import { jsonRpcCodeOf } from '../../kernel/index.js';

export type LossSource = (listener: (reason: string) => void) => () => void;

export function endOnLoss(response: Response, id: string | number | null, onLost: LossSource): Response {
  const source = response.body;
  if (source === null || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return response;
  }
  const reader = source.getReader();
  let stopWatching: () => void = () => undefined;
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stopWatching = onLost((reason) => {
        if (closed) return;
        closed = true;
        stopWatching();
        const error = {
          jsonrpc: '2.0',
          id,
          error: {
            code: jsonRpcCodeOf('STORE_UNAVAILABLE'),
            message: `this stream can no longer hear every change (${reason}); listen again shortly`,
            data: { code: 'STORE_UNAVAILABLE' },
          },
        };
        controller.enqueue(new TextEncoder().encode(`event: message\ndata: ${JSON.stringify(error)}\n\n`));
        controller.close();
        void reader.cancel().catch(() => undefined);
      });
    },
    async pull(controller) {
      const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (closed) return;
      if (next.done) {
        closed = true;
        stopWatching();
        controller.close();
        return;
      }
      controller.enqueue(next.value);
    },
    cancel(reason) {
      closed = true;
      stopWatching();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
