/**
 * Graceful drain: a real gateway process gets SIGTERM with calls in flight against a slow backend.
 * Readiness fails at once; a new session and a new call are refused with 503 SHUTTING_DOWN (a JSON-RPC
 * error carrying the request's id); the call that can finish within `shutdown.drainSeconds` completes; the
 * one that cannot is cancelled and its agent receives a SHUTTING_DOWN tool result (a response, not a closed
 * stream); every outcome is audited and the log verifies; the process exits by itself, in bounded time.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/index.js';
import { verifyAuditLog } from '../../gateway/services/audit/index.js';
import { SLOW_TOOL, startHttpBackend } from '../fixtures/http-backend.js';
import { startGatewayProcess, type GatewayProcess } from '../fixtures/gateway-process.js';
import { INITIALIZE, rawPost, readAudit } from '../helpers/gateway.js';

const DRAIN_SECONDS = 2;

describe('graceful drain on SIGTERM', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: GatewayProcess;
  const key = generateApiKey();

  before(async () => {
    backend = await startHttpBackend();
    gw = await startGatewayProcess({
      config: (dir) => ({
        listen: { host: '127.0.0.1', port: 0 },
        audit: { file: path.join(dir, 'audit.jsonl') },
        policy: { watch: false },
        shutdown: { drainSeconds: DRAIN_SECONDS },
        connectors: [
          {
            id: 'api',
            kind: 'http',
            baseUrl: backend.url,
            tools: [{ ...SLOW_TOOL, name: 'wait' }],
          },
        ],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
        agents: [{ id: 'bot', apiKeys: [{ sha256: digestApiKey(key) }], tools: ['api_wait'] }],
      }),
    });
  });
  after(async () => {
    await gw?.close().catch(() => undefined);
    await backend?.close();
  });

  it('finishes what it can, cancels the rest with an answer, audits both, and exits', async () => {
    const quick = (await gw.connect(key)).client;
    const slow = (await gw.connect(key)).client;
    const idle = await gw.connect(key);
    const code = (result: { isError?: unknown; _meta?: unknown }): string =>
      result.isError === true ? String((result._meta as Record<string, unknown>)['portcullis/code']) : 'ok';
    const finishing = quick.callTool({ name: 'api_wait', arguments: { ms: 1000 } }).then(code);
    const cancelled = slow.callTool({ name: 'api_wait', arguments: { ms: 30_000 } }, undefined, { timeout: 60_000 });
    const started = performance.now();
    while (backend.requests.length < 2 && performance.now() - started < 5000)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(backend.requests.length, 2, 'both calls reached the backend before SIGTERM');

    const exited = new Promise<number | null>((resolve) => gw.child.once('exit', (exitCode) => resolve(exitCode)));
    const sigterm = performance.now();
    gw.child.kill('SIGTERM');

    // Readiness fails at once.
    let ready: Response | undefined;
    for (let i = 0; i < 100; i++) {
      ready = await fetch(`${gw.baseUrl}/readyz`);
      if (ready.status === 503) break;
      await ready.text();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(ready?.status, 503);
    assert.match(((await ready!.json()) as { reason: string }).reason, /shutting down/);
    const readinessMs = Math.round(performance.now() - sigterm);

    // A new session and a new call on an open session: 503 SHUTTING_DOWN, answered with the request's id.
    const open = await rawPost(gw.mcpUrl, INITIALIZE, { authorization: `Bearer ${key}` });
    assert.equal(open.status, 503);
    const openBody = (await open.json()) as { id: unknown; error: { data: { code: string } } };
    assert.equal(openBody.error.data.code, 'SHUTTING_DOWN');
    assert.equal(openBody.id, 1);
    const call = await rawPost(
      gw.mcpUrl,
      { jsonrpc: '2.0', id: 77, method: 'tools/call', params: { name: 'api_wait', arguments: { ms: 1 } } },
      {
        authorization: `Bearer ${key}`,
        'mcp-session-id': idle.transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
    );
    assert.equal(call.status, 503);
    assert.equal(call.headers.get('retry-after'), '1');
    const callBody = (await call.json()) as { id: unknown; error: { data: { code: string } } };
    assert.deepEqual([callBody.id, callBody.error.data.code], [77, 'SHUTTING_DOWN']);

    // What each agent got: the quick call its result, the slow one a coded answer, not a closed stream.
    assert.equal(await finishing, 'ok');
    assert.equal(code(await cancelled), 'SHUTTING_DOWN');
    const answeredMs = Math.round(performance.now() - sigterm);
    assert.ok(answeredMs >= DRAIN_SECONDS * 1000 - 100, `cancelled only after the drain time (${answeredMs} ms)`);

    assert.equal(await exited, 0);
    const exitMs = Math.round(performance.now() - sigterm);
    assert.ok(exitMs < DRAIN_SECONDS * 1000 + 5000, `bounded exit (${exitMs} ms)`);
    assert.equal(backend.requests.length, 2, 'nothing refused reached the backend');
    console.log(
      `drain: readiness 503 after ${readinessMs} ms, cancelled call answered after ${answeredMs} ms, exit after ${exitMs} ms (drainSeconds ${DRAIN_SECONDS})`,
    );

    const file = path.join(gw.dir, 'audit.jsonl');
    const outcomes = (await readAudit(file)).filter((r) => r['event'] === 'tool.call');
    assert.deepEqual(outcomes.map((r) => [r['decision'], r['code'] ?? null]).sort(), [
      ['allow', null],
      ['error', 'SHUTTING_DOWN'],
    ]);
    const verified = await verifyAuditLog(file);
    assert.equal(verified.ok, true);
    assert.deepEqual(verified.inDoubt, [], 'every decision has its outcome');
  });
});
