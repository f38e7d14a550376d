/** Listening and closing: the HTTP server is bound before anything else opens (its URL issues tokens). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listenOn(host: string, port: number): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, baseUrl: `http://${shown}:${address.port}` };
}

/** Stop accepting, and drop open connections (long-lived MCP streams would otherwise hold it open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
