/**
 * The load drivers against the gateway itself, in both eras: their calls must be served (a refusal would be
 * reported as "unsupported" and leave the era unmeasured), and in the 2026-07-28 era the task handle the
 * gateway returns is echoed, so one driver session is one task, as for an agent. The SDK driver speaks
 * that era with the SDK's 2.x client; against a server of the 2025 revisions only, both drivers report the
 * era as unsupported instead of measuring something else, and a target the SDK driver cannot reach or may
 * not use fails as it would in the legacy era.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startUpstreamHttp } from '../../test/fixtures/mcp-upstream-http.js';
import { readAudit, startGatewayOverHttpUpstream, type GatewayOverHttpUpstream } from '../../test/helpers/gateway.js';
import { runLoad, type DriverName, type LoadOptions } from './load.js';
import { UnsupportedEraError, type EraMode } from './eras.js';
import { createRawPool, openRawSession } from './raw-client.js';

describe('load drivers against the gateway', () => {
  let gw: GatewayOverHttpUpstream;

  before(async () => {
    gw = await startGatewayOverHttpUpstream([{ id: 'driver', tools: ['remote_*'] }]);
  });
  after(async () => {
    await gw?.close();
  });

  const bearer = (): Record<string, string> => ({ authorization: `Bearer ${gw.agents['driver']!.key}` });

  for (const mode of ['legacy', 'modern'] as EraMode[]) {
    it(`raw: makes echo calls in the ${mode} era, all under one task`, async () => {
      const url = gw.gateway.mcpUrl;
      const pool = createRawPool(url, 1);
      try {
        const session = await openRawSession(pool, { url, headers: bearer() }, mode, `driver-${mode}`);
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

  /** One 2026-07-28 driver session: a warm-up call and three measured ones. */
  const modernLoad = (url: string, driver: DriverName, headers?: Record<string, string>): LoadOptions => ({
    url,
    ...(headers !== undefined ? { headers } : {}),
    tool: 'remote_echo',
    args: { text: 'sdk-modern' },
    expectText: 'sdk-modern',
    sessions: 1,
    warmupCalls: 1,
    callsPerSession: 3,
    maxSeconds: 30,
    driver,
    mode: 'modern',
  });

  it('sdk: makes echo calls in the modern era, all under one task', async () => {
    const before = (await readAudit(gw.auditFile)).length;
    const result = await runLoad(modernLoad(gw.gateway.mcpUrl, 'sdk', bearer()));
    assert.equal(result.errors, 0, result.firstError);
    assert.equal(result.calls, 3);
    const written = (await readAudit(gw.auditFile)).slice(before);
    // A 2025 session would have left `session.open` and records naming the session: 2026-07-28 requests leave none.
    assert.deepEqual(
      written.filter((r) => r['sessionId'] !== undefined),
      [],
      'no session: the calls were 2026-07-28 requests',
    );
    const records = written.filter((r) => r['event'] === 'tool.call' && r['tool'] === 'remote_echo');
    assert.equal(records.length, 4, 'the warm-up call and the three measured ones were audited');
    assert.equal(new Set(records.map((r) => r['taskId'])).size, 1, 'the calls of one driver session share one task');
  });

  for (const driver of ['sdk', 'raw'] as DriverName[]) {
    it(`${driver}: a server that speaks only the 2025 revisions is reported as unsupported in the modern era`, async () => {
      await assert.rejects(
        runLoad({ ...modernLoad(gw.upstream.url, driver), tool: 'echo' }),
        (error: unknown) => error instanceof UnsupportedEraError,
      );
    });
  }

  it('sdk: a target it cannot reach or may not use fails, rather than being reported as unsupported', async () => {
    // Refused credentials: the gateway answers the probe 401.
    await assert.rejects(
      runLoad(modernLoad(gw.gateway.mcpUrl, 'sdk', { authorization: 'Bearer not-a-key' })),
      (error: unknown) => error instanceof Error && !(error instanceof UnsupportedEraError),
    );
    // Nothing listening: the probe cannot be sent.
    const closed = await startUpstreamHttp();
    await closed.close();
    await assert.rejects(
      runLoad(modernLoad(closed.url, 'sdk')),
      (error: unknown) => error instanceof Error && !(error instanceof UnsupportedEraError),
    );
  });
});
