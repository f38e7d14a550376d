/**
 * The audit file of a running gateway: a call made while another is in progress has its records written
 * through libuv's thread pool, never on the event loop's own thread (which would hold the other call up),
 * and `/metrics` counts the records made durable, the synced writes and their time by the thread that made
 * them, and the time the records waited until durable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SLOW_TOOL, startHttpBackend, TEXT_TOOL, type HttpBackend } from './fixtures/http-backend.js';
import { eventually } from './helpers/eventually.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';

interface AuditCounts {
  records: number;
  eventLoop: number;
  pool: number;
  /** Seconds the synced writes took, by thread, and the records' summed waits until durable. */
  eventLoopSeconds: number;
  poolSeconds: number;
  waitSeconds: number;
}

describe('audit file writes in a running gateway', () => {
  let backend: HttpBackend;
  let gw: TestGateway;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [
          {
            id: 'api',
            kind: 'http',
            baseUrl: backend.url,
            tools: [SLOW_TOOL, TEXT_TOOL],
          },
        ],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'agent', tools: ['api_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  async function auditCounts(): Promise<AuditCounts> {
    const text = await (await fetch(`${gw.gateway.baseUrl}/metrics`)).text();
    const value = (pattern: RegExp): number => {
      const match = pattern.exec(text);
      assert.ok(match !== null, `/metrics has ${pattern.source}`);
      return Number(match[1]);
    };
    return {
      records: value(/^portcullis_audit_records_durable_total (\d+)$/m),
      eventLoop: value(/^portcullis_audit_synced_writes_total\{thread="event_loop"\} (\d+)$/m),
      pool: value(/^portcullis_audit_synced_writes_total\{thread="pool"\} (\d+)$/m),
      eventLoopSeconds: value(/^portcullis_audit_synced_write_seconds_total\{thread="event_loop"\} (\S+)$/m),
      poolSeconds: value(/^portcullis_audit_synced_write_seconds_total\{thread="pool"\} (\S+)$/m),
      waitSeconds: value(/^portcullis_audit_durable_wait_seconds_total (\S+)$/m),
    };
  }

  it('writes the records of a call made during another through the pool, and counts every record', async () => {
    const client = await gw.connect('agent');
    const start = await auditCounts();

    // The slow call is in progress from before its write-ahead record until its backend answers.
    const slow = client.callTool({ name: 'api_slow', arguments: { ms: 3000 } });
    await eventually(
      async () => (await readAudit(gw.auditFile)).some((r) => r['event'] === 'call.intent' && r['tool'] === 'api_slow'),
      "the slow call's write-ahead record",
    );
    const during = await auditCounts();
    // Quick calls, each after the event loop had time to wait for work: alone, each would be written inline.
    const quickCalls = 5;
    for (let i = 0; i < quickCalls; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const quick = await client.callTool({ name: 'api_text', arguments: {} });
      assert.notEqual(quick.isError, true);
    }
    const afterQuick = await auditCounts();
    assert.equal(afterQuick.records - during.records, 2 * quickCalls, 'a write-ahead and an outcome record each');
    assert.equal(afterQuick.pool - during.pool, 2 * quickCalls, 'all written through the pool, one write each');
    assert.equal(afterQuick.eventLoop, during.eventLoop, 'none on the event loop while the slow call was in progress');
    assert.ok(afterQuick.poolSeconds > during.poolSeconds, "the pool's writes took time");
    assert.equal(afterQuick.eventLoopSeconds, during.eventLoopSeconds, 'no time on the event loop');
    // Each record waited at least for the write that carried it.
    assert.ok(
      afterQuick.waitSeconds - during.waitSeconds >= afterQuick.poolSeconds - during.poolSeconds,
      'the records waited for their writes',
    );

    const slowResult = await slow;
    assert.notEqual(slowResult.isError, true);
    const end = await auditCounts();
    assert.ok(end.records > start.records);
    assert.equal(end.records, (await readAudit(gw.auditFile)).length, 'every record in the file is counted');
    assert.ok(end.eventLoop + end.pool <= end.records, 'records written together share a synced write');
  });
});
