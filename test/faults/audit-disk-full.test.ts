/**
 * Write-ahead audit on a real full disk: the audit log lives on a small tmpfs that the test fills up.
 * While the log cannot be written, calls are refused with AUDIT_UNAVAILABLE before anything is sent to the
 * backend and readiness says why; when space comes back the sink recovers by itself; the log verifies.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { verifyAuditLog } from '../../gateway/services/audit/index.js';
import { startHttpBackend, TEXT_TOOL } from '../fixtures/http-backend.js';
import { readAudit, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { mountSmallDisk, type SmallDisk } from './tmpfs.js';

interface CallOutcome {
  ok: boolean;
  code?: string;
}

describe('audit log on a full disk', () => {
  let disk: SmallDisk;
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let agent: Client;
  let auditFile: string;

  before(async () => {
    disk = await mountSmallDisk(256);
    auditFile = path.join(disk.dir, 'audit.jsonl');
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [TEXT_TOOL] }],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
        audit: { file: auditFile },
      },
      [{ id: 'bot', tools: ['api_text'] }],
    );
    agent = await gw.connect('bot');
  });
  after(async () => {
    await gw?.close().catch(() => undefined);
    await backend?.close();
    await disk?.unmount();
  });

  async function call(): Promise<CallOutcome> {
    const result = await agent.callTool({ name: 'api_text', arguments: {} });
    const code = (result._meta as Record<string, unknown> | undefined)?.['portcullis/code'];
    return { ok: result.isError !== true, ...(typeof code === 'string' ? { code } : {}) };
  }

  async function readiness(): Promise<{ status: number; body: { status: string; reason?: string } }> {
    const response = await fetch(`${gw.gateway.baseUrl}/readyz`);
    return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
  }

  it('refuses calls before invoking while the log cannot be written, then recovers by itself', async () => {
    assert.deepEqual(await call(), { ok: true });
    assert.equal((await readiness()).status, 200);
    assert.equal(backend.requests.length, 1);

    await disk.fill();
    // Records may still fit into the last partly used page of the log; within a few calls the disk is full.
    const duringOutage: CallOutcome[] = [];
    for (let i = 0; i < 30 && !duringOutage.some((o) => o.code === 'AUDIT_UNAVAILABLE'); i++)
      duringOutage.push(await call());
    assert.ok(
      duringOutage.some((o) => o.code === 'AUDIT_UNAVAILABLE'),
      `a call was refused: ${JSON.stringify(duringOutage)}`,
    );
    for (const outcome of duringOutage) assert.ok(outcome.ok || outcome.code === 'AUDIT_UNAVAILABLE');

    // From now on every call is refused at once and nothing reaches the backend.
    const reached = backend.requests.length;
    const refused = await Promise.all(Array.from({ length: 10 }, () => call()));
    for (const outcome of refused) assert.deepEqual(outcome, { ok: false, code: 'AUDIT_UNAVAILABLE' });
    assert.equal(backend.requests.length, reached, 'no refused call reached the backend');
    const notReady = await readiness();
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.status, 'not ready');
    assert.match(notReady.body.reason ?? '', /audit log unavailable/);
    const healthz = await fetch(`${gw.gateway.baseUrl}/healthz`);
    assert.equal(healthz.status, 503, '/healthz no longer says ok');

    await disk.free();
    const freedAt = performance.now();
    let ready = await readiness();
    while (ready.status !== 200 && performance.now() - freedAt < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ready = await readiness();
    }
    assert.equal(ready.status, 200, 'ready again once the disk has space');
    console.log(`audit recovery after space returned: ${Math.round(performance.now() - freedAt)} ms`);
    assert.deepEqual(await call(), { ok: true });
    assert.equal(backend.requests.length, reached + 1);

    await gw.close();
    const records = await readAudit(auditFile);
    const intents = records.filter((r) => r['event'] === 'call.intent');
    // The write-ahead rule: every request the backend received has a durable decision record before it.
    assert.equal(backend.requests.length, intents.length, 'backend requests = durable intents');
    const outcomes = new Set(records.filter((r) => r['event'] === 'tool.call').map((r) => r['callId']));
    const recovered = records.filter((r) => r['event'] === 'audit.recovered');
    assert.equal(recovered.length, 1);
    assert.ok(((recovered[0]!['detail'] as { refusedRecords: number }).refusedRecords ?? 0) >= 10);
    const verified = await verifyAuditLog(auditFile, { checkpointFile: `${auditFile}.checkpoint.json` });
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.ok, true);
    // Calls that ran but whose outcome could not be written are named as in doubt, and only those.
    assert.deepEqual(
      verified.inDoubt.map((c) => c.callId).sort(),
      intents
        .map((r) => r['callId'] as string)
        .filter((id) => !outcomes.has(id))
        .sort(),
    );
    console.log(
      `refused calls that reached the backend: ${backend.requests.length - intents.length}; in doubt: ${verified.inDoubt.length}`,
    );
  });
});
