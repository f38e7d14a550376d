/**
 * Listening and closing: the HTTP server is bound before anything else opens (its URL issues tokens).
 * Until the app is attached, every request gets a prompt 503 with Retry-After (never a connection that
 * hangs), and receiving a request is bounded from the first byte (see receiveLimits).
 */
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startingResponder } from '../http/index.js';

export interface ListeningServer {
  server: Server;
  baseUrl: string;
  /** Serve requests with the app from now on (until then they get 503 "starting"). */
  attach(app: RequestListener): void;
}

export async function listenOn(
  host: string,
  port: number,
  options: { requestTimeoutSeconds: number },
): Promise<ListeningServer> {
  const server = createServer(receiveLimits(options.requestTimeoutSeconds));
  let onRequest: RequestListener = startingResponder();
  server.on('request', (req, res) => onRequest(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    baseUrl: `http://${shown}:${address.port}`,
    attach: (app) => {
      onRequest = app;
    },
  };
}

/**
 * Bounds on receiving a request: headers and the whole body must arrive within `requestTimeoutSeconds`
 * (Node answers 408 and closes the connection). Only receipt is bounded: a response may take as long as
 * it needs (approval waits, SSE streams). Limits are checked every second rather than Node's default 30 s.
 */
function receiveLimits(requestTimeoutSeconds: number): ServerOptions {
  const requestTimeout = requestTimeoutSeconds * 1000;
  return {
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 60_000),
    connectionsCheckingInterval: Math.min(1000, requestTimeout),
  };
}

/** Stop accepting, and drop open connections (long-lived MCP streams would otherwise hold it open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
