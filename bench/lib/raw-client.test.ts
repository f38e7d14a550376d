/**
 * The raw driver against the gateway itself, in both eras: its calls must be served (a refusal would be
 * reported as "unsupported" and leave the era unmeasured), and in the 2026-07-28 era the task handle the
 * gateway returns is echoed, so one driver session is one task, as for an agent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startUpstreamHttp } from '../../test/fixtures/mcp-upstream-http.js';
import { readAudit, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { createRawPool, openRawSession, type RawMode } from './raw-client.js';

describe('raw driver against the gateway', () => {
  let upstream: Awaited<ReturnType<typeof startUpstreamHttp>>;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'remote', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { remote: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'driver', tools: ['remote_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const mode of ['legacy', 'modern'] as RawMode[]) {
    it(`makes echo calls in the ${mode} era, all under one task`, async () => {
      const url = gw.gateway.mcpUrl;
      const pool = createRawPool(url, 1);
      try {
        const session = await openRawSession(
          pool,
          { url, headers: { authorization: `Bearer ${gw.agents['driver']!.key}` } },
          mode,
          `driver-${mode}`,
        );
        for (const text of [`${mode}-1`, `${mode}-2`, `${mode}-3`])
          assert.equal(await session.callTool('remote_echo', { text }, text), undefined);
        await session.close();
      } finally {
        await pool.close();
      }
      const records = (await readAudit(gw.auditFile)).filter(
        (r) => r['event'] === 'tool.call' && r['tool'] === 'remote_echo',
      );
      assert.ok(records.length >= 3, 'the calls were audited');
      const tasks = new Set(records.slice(-3).map((r) => r['taskId']));
      assert.equal(tasks.size, 1, 'the calls of one driver session share one task');
    });
  }
});
