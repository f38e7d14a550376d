/**
 * Bounded exit with a black-holed collector: the OTLP endpoint accepts connections and never answers.
 * SIGTERM still ends the gateway by itself (exit code 0, not the fixture's SIGKILL after 10 s), and the
 * audit log it leaves verifies. The shutdown time is printed as a figure, not asserted.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/index.js';
import { verifyAuditLog } from '../../gateway/services/audit/index.js';
import { startHttpBackend, TEXT_TOOL } from '../fixtures/http-backend.js';
import { startGatewayProcess, type GatewayProcess } from '../fixtures/gateway-process.js';

describe('shutdown with a black-holed collector', () => {
  let blackHole: Server;
  const sockets = new Set<Socket>();
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: GatewayProcess;
  let auditFile: string;
  const key = generateApiKey();

  before(async () => {
    blackHole = createServer((socket) => {
      sockets.add(socket); // read nothing, answer nothing
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as { port: number };
    backend = await startHttpBackend();
    gw = await startGatewayProcess({
      config: (dir) => {
        auditFile = path.join(dir, 'audit.jsonl');
        return {
          listen: { host: '127.0.0.1', port: 0 },
          policy: { watch: false },
          audit: { file: auditFile },
          connectors: [
            {
              id: 'api',
              kind: 'http',
              baseUrl: backend.url,
              tools: [TEXT_TOOL],
            },
          ],
          egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
          agents: [{ id: 'bot', apiKeys: [{ sha256: digestApiKey(key) }], tools: ['api_text'] }],
          telemetry: { enabled: true, serviceName: 'portcullis-black-hole', otlpEndpoint: `http://127.0.0.1:${port}` },
        };
      },
    });
  });
  after(async () => {
    await gw?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    await backend?.close();
  });

  it('exits by itself after SIGTERM, with every call audited', async () => {
    const { client } = await gw.connect(key);
    for (let i = 0; i < 5; i++) {
      const result = await client.callTool({ name: 'api_text', arguments: {} });
      assert.notEqual(result.isError, true);
    }
    const started = performance.now();
    const code = await gw.stop();
    const elapsed = Math.round(performance.now() - started);
    assert.equal(code, 0, `exited by itself; stderr:\n${gw.stderr()}`);
    console.log(`shutdown with the collector black-holed: ${elapsed} ms`);
    const verified = await verifyAuditLog(auditFile);
    assert.equal(verified.ok, true);
    assert.deepEqual(verified.inDoubt, []);
    assert.equal(backend.requests.length, 5);
  });
});
