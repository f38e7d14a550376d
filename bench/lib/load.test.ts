/**
 * The load drivers against the benchmark's own echo server over Streamable HTTP: every call checked, and
 * every session ended when the load is done (a target measured round after round must not pile them up).
 * The echo server speaks both eras, so both drivers' 2026-07-28 mode is measured against it as well, with
 * the era checked by what the server served. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startEchoHttpServer, type EchoHttpServer } from '../echo-server.js';
import { runLoad, type DriverName, type LoadOptions } from './load.js';
import type { EraMode } from './eras.js';

describe('load drivers', () => {
  let echo: EchoHttpServer;
  before(async () => {
    echo = await startEchoHttpServer();
  });
  after(async () => {
    await echo?.close();
  });

  /** Three sessions of a warm-up call and four measured ones each, every one echoing `ping`. */
  const pings = (driver: DriverName, mode?: EraMode): LoadOptions => ({
    url: echo.url,
    tool: 'echo',
    args: { text: 'ping' },
    expectText: 'ping',
    sessions: 3,
    warmupCalls: 1,
    callsPerSession: 4,
    maxSeconds: 30,
    driver,
    ...(mode !== undefined ? { mode } : {}),
  });

  for (const driver of ['sdk', 'raw'] as DriverName[]) {
    it(`${driver}: makes every call and ends every session it opened`, async () => {
      for (let run = 0; run < 2; run++) {
        const result = await runLoad(pings(driver));
        assert.equal(result.errors, 0, result.firstError);
        assert.equal(result.calls, 12);
        // The load generator's own CPU a call (here with the echo server in the same process).
        assert.ok(
          Number.isInteger(result.driverCpuMicrosPerCall) && result.driverCpuMicrosPerCall! > 0,
          `driver CPU a call: ${result.driverCpuMicrosPerCall}`,
        );
        // The whole machine's busy CPU a call: at least what the driver (and echo server) in this process used.
        if (existsSync('/proc/stat'))
          assert.ok(
            Number.isInteger(result.machineCpuMicrosPerCall) &&
              result.machineCpuMicrosPerCall! >= result.driverCpuMicrosPerCall! - 20_000 / result.calls,
            `machine CPU a call: ${result.machineCpuMicrosPerCall}, driver's ${result.driverCpuMicrosPerCall}`,
          );
        assert.equal(echo.openSessions(), 0, `sessions left open after run ${run + 1}`);
      }
    });
  }

  for (const driver of ['raw', 'sdk'] as DriverName[]) {
    it(`${driver}, 2026-07-28: makes every call in that era without opening a session`, async () => {
      const before = echo.modernRequests();
      const result = await runLoad(pings(driver, 'modern'));
      assert.equal(result.errors, 0, result.firstError);
      assert.equal(result.calls, 12);
      assert.equal(echo.openSessions(), 0);
      // Three sessions of five calls each (one warm-up, four measured), each call a 2026-07-28 request; the
      // SDK's client also sends one `server/discover` probe a session as it connects.
      const served = echo.modernRequests() - before;
      assert.equal(served, driver === 'sdk' ? 18 : 15);
    });
  }

  it('2026-07-28: a request the strict handler does not take gets its error, not a session', async () => {
    // A 2025-era request with no session id and no envelope (not `initialize`): the SDK's ladder refuses it.
    const response = await fetch(echo.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error?: { message?: string } };
    assert.match(body.error?.message ?? '', /protocol version/i);
    assert.equal(echo.openSessions(), 0);
  });
});
