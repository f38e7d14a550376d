import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { auditWritesBetween, parseAuditWriteCounters } from './audit-writes.js';
import { readMetricsText } from './metrics-text.js';
import { targetMedians, type RoundResults } from './rounds.js';
import { formatAuditTimes, formatAuditWrites, formatMedians } from './report.js';
import type { LoadResult } from './load.js';

const exposition = (
  records: number,
  pool: number,
  inline: number,
  times?: { sync: [number, number]; wait: number },
): string =>
  [
    '# HELP portcullis_audit_records_durable_total Audit records made durable.',
    '# TYPE portcullis_audit_records_durable_total counter',
    `portcullis_audit_records_durable_total ${records}`,
    '# HELP portcullis_audit_synced_writes_total Synced writes of the audit file.',
    '# TYPE portcullis_audit_synced_writes_total counter',
    `portcullis_audit_synced_writes_total{thread="event_loop"} ${inline}`,
    `portcullis_audit_synced_writes_total{thread="pool"} ${pool}`,
    ...(times !== undefined
      ? [
          '# TYPE portcullis_audit_synced_write_seconds_total counter',
          `portcullis_audit_synced_write_seconds_total{thread="event_loop"} ${times.sync[0]}`,
          `portcullis_audit_synced_write_seconds_total{thread="pool"} ${times.sync[1]}`,
          '# TYPE portcullis_audit_durable_wait_seconds_total counter',
          `portcullis_audit_durable_wait_seconds_total ${times.wait}`,
        ]
      : []),
    'portcullis_tool_calls_total{agent="a"} 7',
  ].join('\n');

describe('audit writes in the bench', () => {
  it('reads the audit counters of a /metrics page, and nothing from a page without them', () => {
    assert.deepEqual(parseAuditWriteCounters(exposition(120, 9, 3)), { records: 120, syncs: 12, inlineSyncs: 3 });
    assert.deepEqual(parseAuditWriteCounters(exposition(120, 9, 3, { sync: [0.25, 1.5], wait: 4.5 })), {
      records: 120,
      syncs: 12,
      inlineSyncs: 3,
      syncSeconds: 1.75,
      waitSeconds: 4.5,
    });
    assert.equal(parseAuditWriteCounters('portcullis_tool_calls_total 7\n'), undefined);
    assert.equal(parseAuditWriteCounters(''), undefined);
  });

  it('gives records per synced write and the inline share over a phase', () => {
    const writes = auditWritesBetween(
      { records: 100, syncs: 20, inlineSyncs: 5 },
      { records: 180, syncs: 30, inlineSyncs: 7 },
    );
    assert.equal(writes.records, 80);
    assert.equal(writes.syncs, 10);
    assert.equal(writes.inlineSyncs, 2);
    assert.equal(writes.recordsPerSync, 8);
    assert.equal(writes.inlineShare, 0.2);
    // A build without the time counters (an older baseline) has no times to give.
    assert.ok(Number.isNaN(writes.syncMicros) && Number.isNaN(writes.waitMicros));
    assert.equal(formatAuditTimes(writes), '- / -');
    const none = auditWritesBetween({ records: 1, syncs: 1, inlineSyncs: 0 }, { records: 1, syncs: 1, inlineSyncs: 0 });
    assert.ok(Number.isNaN(none.recordsPerSync) && Number.isNaN(none.inlineShare));
    assert.equal(formatAuditWrites(writes), '8.0 / 20%');
    assert.equal(formatAuditWrites(none), '- / -');
    assert.equal(formatAuditWrites(undefined), '-');
  });

  it("gives a synced write's mean time and a record's mean wait over a phase, in µs", () => {
    const timed = auditWritesBetween(
      { records: 100, syncs: 20, inlineSyncs: 5, syncSeconds: 1, waitSeconds: 2 },
      { records: 180, syncs: 30, inlineSyncs: 7, syncSeconds: 1.002, waitSeconds: 2.04 },
    );
    assert.ok(Math.abs(timed.syncMicros - 200) < 1e-6, `${timed.syncMicros}`);
    assert.ok(Math.abs(timed.waitMicros - 500) < 1e-6, `${timed.waitMicros}`);
    assert.equal(formatAuditTimes(timed), '200 / 500');
    assert.equal(formatAuditTimes(undefined), '-');
  });

  it("takes each target's median over the rounds, leaving out phases without a write", () => {
    const base: LoadResult = {
      calls: 10,
      errors: 0,
      wallMs: 100,
      throughput: 100,
      p50Ms: 1,
      p99Ms: 2,
      meanMs: 1,
      maxMs: 2,
      sessions: 1,
      truncated: false,
    };
    const withWrites = (recordsPerSync: number, inlineShare: number): LoadResult => ({
      ...base,
      auditWrites: {
        records: 0,
        syncs: 0,
        inlineSyncs: 0,
        recordsPerSync,
        inlineShare,
        syncMicros: recordsPerSync * 100,
        waitMicros: recordsPerSync * 300,
      },
    });
    const rounds: RoundResults = [
      { cell: { portcullis: withWrites(2, 1), direct: base } },
      { cell: { portcullis: withWrites(8, 0.1), direct: base } },
      { cell: { portcullis: withWrites(4, 0.5), direct: base } },
      { cell: { portcullis: withWrites(Number.NaN, Number.NaN), direct: base } },
    ];
    const [portcullis, direct] = targetMedians(rounds, 'cell');
    assert.deepEqual(portcullis?.auditWrites, {
      recordsPerSync: 4,
      inlineShare: 0.5,
      syncMicros: 400,
      waitMicros: 1200,
    });
    assert.equal(direct?.auditWrites, undefined);
    const table = formatMedians(targetMedians(rounds, 'cell'), 4);
    assert.match(table, /audit rec\/sync \/ inline/);
    assert.match(table, /audit sync \/ wait us/);
    assert.match(table, /portcullis .* 4\.0 \/ 50% +400 \/ 1200/);
    assert.match(table, /direct .* -$/m);
  });

  it('reads a live /metrics page, and gives nothing when the page cannot be read', async () => {
    let page = exposition(5, 2, 1);
    const server = createServer((req, res) => {
      if (req.url === '/metrics') res.end(page);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const live = await readMetricsText(`${base}/metrics`);
      assert.deepEqual(live !== undefined && parseAuditWriteCounters(live), { records: 5, syncs: 3, inlineSyncs: 1 });
      page = 'nothing here';
      const other = await readMetricsText(`${base}/metrics`);
      assert.equal(other !== undefined && parseAuditWriteCounters(other), undefined);
      assert.equal(await readMetricsText(`${base}/elsewhere`), undefined);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
