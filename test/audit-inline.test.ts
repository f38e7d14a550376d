/**
 * Inline writes of the file audit sink: when the event loop has been waiting for work, a synced write is
 * made on the event loop's thread instead of in libuv's thread pool, and so is one made while the gateway
 * serves one call at a time; while the loop is busy, or other work is in progress that a blocking write
 * would hold up, writes stay in the pool and keep sharing syncs; a slow inline write pauses inline
 * writing; and an inline write that fails on a real full disk is refused and recovered from exactly like a
 * pooled one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  AuditError,
  createRotatingAuditSink,
  listRotatedSegments,
  openGatewayAudit,
  verifyAuditLog,
  type AuditRecordInput,
  type AuditWriteStats,
} from '../gateway/services/audit/index.js';
import { AuditSchema } from '../gateway/config/schema.js';
import { createActiveCalls, createLogger } from '../gateway/kernel/index.js';
import { mountSmallDisk } from './faults/tmpfs.js';
import { freshAuditFiles, readAudit } from './helpers/audit-files.js';
import { idleEventLoop as idle, openPerRecordSink as openSink } from './helpers/audit-sinks.js';

const freshFile = freshAuditFiles('portcullis-audit-inline-');

const record = (i: number): AuditRecordInput => ({ event: 'tool.call', decision: 'allow', tool: `t_${i}` });

/** What these tests count of a sink's stats: records, synced writes and inline ones (times: audit-write-times). */
const counts = ({
  records,
  syncs,
  inlineSyncs,
}: AuditWriteStats): Pick<AuditWriteStats, 'records' | 'syncs' | 'inlineSyncs'> => ({
  records,
  syncs,
  inlineSyncs,
});

async function toolsIn(file: string): Promise<string[]> {
  return (await readAudit(file)).map((r) => (r['tool'] as string | undefined) ?? '');
}

describe('file audit sink: inline writes', () => {
  it('after the event loop was idle, the write is made on its thread: on disk before any I/O callback', async () => {
    const file = freshFile();
    const sink = await openSink(file);
    await idle();
    const appended = sink.append(record(1));
    // The writer starts in a microtask: an inline write is in the file by the time these microtasks ran. (A
    // pooled one may have landed by then too; the count of inline syncs below tells the two apart.)
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
    assert.match(readFileSync(file, 'utf8'), /"tool":"t_1"/);
    await appended;
    assert.deepEqual(counts(sink.stats()), { records: 1, syncs: 1, inlineSyncs: 1 });
    await sink.close();
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('while the event loop has not waited since the last write, writes go to the thread pool and share syncs', async () => {
    const file = freshFile();
    const sink = await openSink(file);
    await idle();
    await sink.append(record(1));
    // No timer, no I/O wait since that write: this one goes to the pool...
    const pooled = sink.append(record(2));
    await Promise.resolve();
    await Promise.resolve();
    // ...and these arrive while it is in flight, so they share the next write.
    const queued = Array.from({ length: 10 }, (_, i) => sink.append(record(3 + i)));
    await Promise.all([pooled, ...queued]);
    assert.deepEqual(counts(sink.stats()), { records: 12, syncs: 3, inlineSyncs: 1 });
    // Bursts that never let the event loop wait stay in the pool as well.
    for (let burst = 0; burst < 3; burst++)
      await Promise.all(Array.from({ length: 5 }, (_, i) => sink.append(record(100 + burst * 5 + i))));
    assert.deepEqual(counts(sink.stats()), { records: 27, syncs: 6, inlineSyncs: 1 });
    await sink.close();
    assert.deepEqual(await toolsIn(file), [
      ...Array.from({ length: 12 }, (_, i) => `t_${i + 1}`),
      ...Array.from({ length: 15 }, (_, i) => `t_${100 + i}`),
    ]);
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('idleGapMs: Infinity never writes inline', async () => {
    const file = freshFile();
    const sink = await openSink(file, { idleGapMs: Infinity });
    for (let i = 1; i <= 3; i++) {
      await idle();
      await sink.append(record(i));
    }
    assert.deepEqual(counts(sink.stats()), { records: 3, syncs: 3, inlineSyncs: 0 });
    await sink.close();
  });

  it('never inline while othersInProgress says other work would be held up, inline again once it does not', async () => {
    const file = freshFile();
    let others = true;
    const sink = await openSink(file, { othersInProgress: () => others });
    for (let i = 1; i <= 3; i++) {
      await idle();
      await sink.append(record(i));
    }
    assert.deepEqual(counts(sink.stats()), { records: 3, syncs: 3, inlineSyncs: 0 });
    others = false;
    await idle();
    await sink.append(record(4));
    assert.deepEqual(counts(sink.stats()), { records: 4, syncs: 4, inlineSyncs: 1 });
    await sink.close();
    assert.deepEqual(await toolsIn(file), ['t_1', 't_2', 't_3', 't_4']);
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('inline without the idle gap while servingAlone says so, unless othersInProgress says otherwise', async () => {
    const file = freshFile();
    let alone = true;
    let others = false;
    const sink = await openSink(file, { servingAlone: () => alone, othersInProgress: () => others });
    await idle();
    await sink.append(record(1));
    // No wait since the last write, as when a request was already waiting when the last call was answered.
    await sink.append(record(2));
    await sink.append(record(3));
    assert.deepEqual(counts(sink.stats()), { records: 3, syncs: 3, inlineSyncs: 3 });
    others = true;
    await sink.append(record(4));
    assert.deepEqual(counts(sink.stats()), { records: 4, syncs: 4, inlineSyncs: 3 });
    others = false;
    alone = false;
    await sink.append(record(5));
    assert.deepEqual(counts(sink.stats()), { records: 5, syncs: 5, inlineSyncs: 3 });
    await sink.close();
    assert.deepEqual(await toolsIn(file), ['t_1', 't_2', 't_3', 't_4', 't_5']);
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('idleGapMs: Infinity never writes inline, whatever servingAlone says', async () => {
    const sink = await openSink(freshFile(), { idleGapMs: Infinity, servingAlone: () => true });
    await idle();
    await sink.append(record(1));
    await sink.append(record(2));
    assert.deepEqual(counts(sink.stats()), { records: 2, syncs: 2, inlineSyncs: 0 });
    await sink.close();
  });

  it("the gateway's audit file: one call at a time is written inline back to back; after calls overlapped, not until 100 ms later", async () => {
    const file = freshFile();
    // The call count's own clock, moved by hand: a slow disk cannot make the overlap look older than it is.
    let clock = 0;
    const activeCalls = createActiveCalls(() => clock);
    let stats: (() => AuditWriteStats) | undefined;
    const { sink } = await openGatewayAudit(AuditSchema.parse({ file }), {
      metrics: { auditWriteFailed: () => undefined, countAuditWrites: (read) => (stats = read) },
      logger: createLogger({ level: 'silent' }),
      activeCalls,
    });
    assert.ok(stats !== undefined, 'the file sink reports its writes');
    const start = stats();
    await idle();
    // Three calls one after another, their records back to back: the event loop never waits between them.
    for (let call = 0; call < 3; call++) {
      const leave = activeCalls.enter();
      await sink.append(record(2 * call));
      await sink.append(record(2 * call + 1));
      leave();
    }
    const alone = stats();
    assert.equal(alone.syncs - start.syncs, 6);
    assert.equal(alone.inlineSyncs - start.inlineSyncs, 6, 'all on the event loop');
    // Two calls in progress together: what follows at once goes to the pool, with one call left or none.
    const first = activeCalls.enter();
    const second = activeCalls.enter();
    await sink.append(record(6));
    second();
    await sink.append(record(7));
    first();
    await sink.append(record(8));
    const overlapped = stats();
    assert.equal(overlapped.syncs - alone.syncs, 3);
    assert.equal(overlapped.inlineSyncs, alone.inlineSyncs, 'none on the event loop');
    clock += 99;
    await sink.append(record(9));
    assert.equal(stats().inlineSyncs, alone.inlineSyncs, 'still none 99 ms after the overlap');
    clock += 1;
    await sink.append(record(10));
    assert.equal(stats().inlineSyncs, alone.inlineSyncs + 1, 'on the event loop again 100 ms after it');
    await sink.close();
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('an inline write that takes slowInlineMs pauses inline writing for inlinePauseMs', async () => {
    // slowInlineMs 0: every inline write counts as slow.
    const paused = await openSink(freshFile(), { slowInlineMs: 0, inlinePauseMs: 60_000 });
    const unpaused = await openSink(freshFile(), { slowInlineMs: 0, inlinePauseMs: 0 });
    for (let i = 1; i <= 3; i++) {
      await idle();
      await Promise.all([paused.append(record(i)), unpaused.append(record(i))]);
    }
    assert.deepEqual(counts(paused.stats()), { records: 3, syncs: 3, inlineSyncs: 1 });
    assert.deepEqual(counts(unpaused.stats()), { records: 3, syncs: 3, inlineSyncs: 3 });
    await paused.close();
    await unpaused.close();
  });

  it('a rotating log counts the inline writes of every file it wrote', async () => {
    const file = freshFile();
    const sink = await createRotatingAuditSink({
      file,
      rotation: { maxBytes: 400 },
      openSegment: (continueFrom) => openSink(file, { continueFrom }),
    });
    for (let i = 1; i <= 6; i++) {
      await idle();
      await sink.append(record(i));
    }
    await sink.close();
    assert.ok((await listRotatedSegments(file)).length >= 2, 'the log was rotated');
    assert.deepEqual(counts(sink.stats()), { records: 6, syncs: 6, inlineSyncs: 6 });
  });

  it('a file just opened writes its first record inline, however soon after opening', async () => {
    // A rotation opens the next file right before the record that waited for it: the file has no write of
    // its own yet for the event loop to have waited since.
    const sink = await openSink(freshFile());
    await sink.append(record(1));
    assert.deepEqual(counts(sink.stats()), { records: 1, syncs: 1, inlineSyncs: 1 });
    // Still only while nothing else is in progress.
    const busy = await openSink(freshFile(), { othersInProgress: () => true });
    await busy.append(record(1));
    assert.deepEqual(counts(busy.stats()), { records: 1, syncs: 1, inlineSyncs: 0 });
    await sink.close();
    await busy.close();
  });

  it('refuses bad inline settings', async () => {
    for (const [option, value] of [
      ['idleGapMs', -1],
      ['idleGapMs', Number.NaN],
      ['slowInlineMs', -1],
      ['slowInlineMs', Infinity],
      ['inlinePauseMs', Number.NaN],
    ] as const) {
      await assert.rejects(
        openSink(freshFile(), { [option]: value }),
        new RegExp(`${option} must be a non-negative number`),
        `${option}: ${value}`,
      );
    }
  });
});

describe('file audit sink: an inline write on a full disk', () => {
  it('is refused, leaves nothing half-written, and the sink recovers once there is space', async () => {
    const disk = await mountSmallDisk(256);
    try {
      const file = path.join(disk.dir, 'audit.jsonl');
      const sink = await openSink(file, { retryMs: 50 });
      await idle();
      await sink.append(record(0));
      await disk.fill();
      // Records may still fit into the log's last partly used page; within a few the disk is full.
      const acknowledged = ['t_0'];
      let refusal: unknown;
      for (let i = 1; i <= 200 && refusal === undefined; i++) {
        await idle();
        await sink.append(record(i)).then(
          () => acknowledged.push(`t_${i}`),
          (error: unknown) => {
            refusal = error;
          },
        );
      }
      assert.ok(refusal instanceof AuditError, `a write was refused: ${String(refusal)}`);
      assert.equal(refusal.code, 'AUDIT_WRITE_FAILED');
      // Every write so far followed an idle event loop, so each was made inline, the refused one as well.
      assert.equal(sink.stats().inlineSyncs, acknowledged.length);
      assert.equal(sink.status?.().available, false);
      await assert.rejects(sink.append(record(999)), (error: unknown) => {
        return error instanceof AuditError && error.code === 'AUDIT_UNAVAILABLE';
      });

      await disk.free();
      const freedAt = performance.now();
      while (sink.status?.().available !== true && performance.now() - freedAt < 10_000) await idle();
      assert.equal(sink.status?.().available, true, 'writable again once the disk has space');
      await idle();
      await sink.append(record(1000));
      await sink.close();

      const events = await readAudit(file);
      assert.deepEqual(
        events.map((e) => e['tool'] ?? e['event']),
        [...acknowledged, 'audit.recovered', 't_1000'],
        'exactly the acknowledged records, then the recovery, then the next one',
      );
      assert.equal((await verifyAuditLog(file)).ok, true);
    } finally {
      await disk.unmount();
    }
  });
});
