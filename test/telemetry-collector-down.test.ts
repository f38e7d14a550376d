/**
 * Telemetry fails open: with tracing on and the collector unreachable (a closed port), every tool call
 * still succeeds, the gateway stays healthy, and it still shuts down cleanly. No timing is asserted here;
 * `bench/collector-down.ts` measures the latency ratio.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { closedPort, startGatewayProcess, type GatewayProcess } from './fixtures/gateway-process.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';

const CALLS = 25;

describe('telemetry with the collector down', () => {
  let upstream: UpstreamHttp;
  let gateway: GatewayProcess;
  const agentKey = generateApiKey();

  before(async () => {
    upstream = await startUpstreamHttp();
    const port = await closedPort();
    gateway = await startGatewayProcess({
      config: (dir) => ({
        listen: { host: '127.0.0.1', port: 0 },
        connectors: [{ id: 'up', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { up: { allowPrivate: ['127.0.0.0/8'] } } },
        agents: [
          { id: 'bench-agent', roles: ['tester'], apiKeys: [{ sha256: digestApiKey(agentKey) }], tools: ['up_*'] },
        ],
        audit: { file: path.join(dir, 'audit.jsonl') },
        telemetry: {
          enabled: true,
          serviceName: 'portcullis-collector-down',
          otlpEndpoint: `http://127.0.0.1:${port}`,
        },
      }),
      // Export (and fail) while the calls run, not only at shutdown. The exporter retries a refused export
      // until its timeout (10 s by default), which shutdown waits for; a short one keeps the test quick.
      env: { OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4', OTEL_EXPORTER_OTLP_TIMEOUT: '1000' },
    });
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it(`answers ${CALLS} tool calls correctly while every span export fails`, async () => {
    const { client } = await gateway.connect(agentKey);
    const before = upstream.events.filter((e) => e.kind === 'call' && e.name === 'add').length;
    for (let i = 0; i < CALLS; i += 1) {
      const result = await client.callTool({ name: 'up_add', arguments: { a: i, b: 1 } });
      assert.notEqual(result.isError, true, `call ${i}: ${JSON.stringify(result)}`);
      assert.deepEqual(result.structuredContent, { sum: i + 1 }, `call ${i}`);
    }
    assert.equal(
      upstream.events.filter((e) => e.kind === 'call' && e.name === 'add').length - before,
      CALLS,
      'every call reached the upstream once',
    );
  });

  it('concurrent calls succeed too', async () => {
    const { client } = await gateway.connect(agentKey);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.callTool({ name: 'up_echo', arguments: { text: `c${i}` } })),
    );
    results.forEach((result, i) => {
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.match(JSON.stringify(result.content), new RegExp(`c${i}`));
    });
  });

  it('stays healthy, and shuts down cleanly with spans it could not deliver', async () => {
    const health = await fetch(`${gateway.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { ok?: boolean }).ok, true);
    const code = await gateway.stop();
    assert.equal(code, 0, `exit code; stderr:\n${gateway.stderr()}`);
  });
});
