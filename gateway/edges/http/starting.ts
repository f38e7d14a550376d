/**
 * The answer to any request that arrives while the gateway is still starting: the port is bound early (the
 * gateway's own URL must be known before it mints anything), so a request that comes in before the app is
 * attached gets a prompt 503 with Retry-After instead of waiting on a connection nobody serves.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export function startingResponder(): RequestListener {
  return (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ status: 'starting', reason: 'the gateway is starting; retry shortly' });
    res.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'retry-after': '1',
      'cache-control': 'no-store',
      connection: 'close',
    });
    res.end(body);
  };
}
