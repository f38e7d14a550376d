/**
 * The load drivers against the benchmark's own echo server over Streamable HTTP: every call checked, and
 * every session ended when the load is done (a target measured round after round must not pile them up).
 * No timing is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEchoHttpServer, type EchoHttpServer } from '../echo-server.js';
import { runLoad, type DriverName } from './load.js';

describe('load drivers', () => {
  let echo: EchoHttpServer;
  before(async () => {
    echo = await startEchoHttpServer();
  });
  after(async () => {
    await echo?.close();
  });

  for (const driver of ['sdk', 'raw'] as DriverName[]) {
    it(`${driver}: makes every call and ends every session it opened`, async () => {
      for (let run = 0; run < 2; run++) {
        const result = await runLoad({
          url: echo.url,
          tool: 'echo',
          args: { text: 'ping' },
          expectText: 'ping',
          sessions: 3,
          warmupCalls: 1,
          callsPerSession: 4,
          maxSeconds: 30,
          driver,
        });
        assert.equal(result.errors, 0, result.firstError);
        assert.equal(result.calls, 12);
        assert.equal(echo.openSessions(), 0, `sessions left open after run ${run + 1}`);
      }
    });
  }
});
