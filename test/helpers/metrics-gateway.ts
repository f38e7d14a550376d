/**
 * A gateway for the metrics tests: one reachable HTTP backend (`api_read`, `api_remove`), one connector whose
 * backend is down (`down_read`), and the policy file the test gives (a deny rule, say), for agent `agent`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHttpBackend } from '../fixtures/http-backend.js';
import { closedPort } from '../fixtures/gateway-process.js';
import { startTestGateway, type TestGateway } from './gateway.js';

export interface MetricsGateway {
  backend: Awaited<ReturnType<typeof startHttpBackend>>;
  gw: TestGateway;
  close(): Promise<void>;
}

export async function startMetricsGateway(policyYaml: string): Promise<MetricsGateway> {
  const backend = await startHttpBackend();
  const deadPort = await closedPort();
  const policyDir = await mkdtemp(path.join(tmpdir(), 'portcullis-metrics-'));
  const policyFile = path.join(policyDir, 'policy.yaml');
  await writeFile(policyFile, policyYaml);
  const loopback = { allowPrivate: ['127.0.0.1/32'] };
  const gw = await startTestGateway(
    {
      connectors: [
        {
          id: 'api',
          kind: 'http',
          baseUrl: backend.url,
          tools: [
            { name: 'read', method: 'GET', path: '/echo', inputSchema: { type: 'object' } },
            { name: 'remove', method: 'DELETE', path: '/echo', inputSchema: { type: 'object' } },
          ],
        },
        {
          id: 'down',
          kind: 'http',
          baseUrl: `http://127.0.0.1:${deadPort}`,
          tools: [{ name: 'read', method: 'GET', path: '/x', inputSchema: { type: 'object' } }],
        },
      ],
      egress: { connectors: { api: loopback, down: loopback } },
      policy: { files: [policyFile], watch: false },
    },
    [{ id: 'agent', tools: ['api_*', 'down_*'] }],
  );
  return {
    backend,
    gw,
    async close() {
      await gw.close();
      await backend.close();
      await rm(policyDir, { recursive: true, force: true });
    },
  };
}
