/**
 * The demo helpdesk API (examples/demo/demo-api.ts) as its own service, for compose: listens on
 * HOST:PORT (default 0.0.0.0:18081) and stops on SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { createDemoApi } from '../demo/demo-api.js';

const host = process.env['HOST'] ?? '0.0.0.0';
const port = Number(process.env['PORT'] ?? '18081');

const server = createDemoApi();
server.listen(port, host, () => {
  const address = server.address() as AddressInfo;
  process.stdout.write(`Demo helpdesk API listening on http://${address.address}:${address.port}\n`);
});

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
