/**
 * A server-sent event stream for the operators' console (audit records, approval tickets): the headers, a
 * keep-alive comment every 15 seconds, and events written only while the viewer keeps up. A viewer whose
 * connection stalls while staying open would otherwise have every event buffered for it in the gateway;
 * once more than `maxBufferedBytes` wait unsent, the stream is closed instead. The console's approvals view
 * reconnects by itself and lists afresh; its decisions view says it was disconnected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Unsent bytes a viewer may fall behind by before its stream is closed. */
export const MAX_BUFFERED_EVENT_BYTES = 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

export interface EventStream {
  /** Send one event (`data` is serialised as JSON). Nothing is sent once the stream is closed. */
  send(event: string, data: unknown): void;
  /** Called once when the stream ends (the viewer left, or fell too far behind). */
  onClose(listener: () => void): void;
}

export function openEventStream(
  req: IncomingMessage,
  res: ServerResponse,
  options: { maxBufferedBytes?: number } = {},
): EventStream {
  const maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_EVENT_BYTES;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  const write = (text: string): void => {
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > maxBufferedBytes) {
      res.destroy();
      return;
    }
    res.write(text);
  };
  write(': connected\n\n');
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  keepAlive.unref();
  const listeners: (() => void)[] = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const listener of listeners) listener();
  };
  req.on('close', close);
  res.on('close', close);
  return {
    send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    onClose: (listener) => {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}
