/**
 * The file audit sink's write times (`stats()`, and `/metrics` through it): how long its synced writes
 * took as the event loop saw them, inline and in the pool, and how long its records waited from their
 * append until durable. Each record waits at least for the write that carries it, a deferred record for its
 * deferral as well, and a rotating log adds up the files it has closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRotatingAuditSink,
  listRotatedSegments,
  type AuditRecordInput,
  type AuditWriteStats,
  type JsonlAuditSink,
} from '../gateway/services/audit/index.js';
import { freshAuditFiles } from './helpers/audit-files.js';
import { idleEventLoop as idle, openPerRecordSink as openSink } from './helpers/audit-sinks.js';

const freshFile = freshAuditFiles('portcullis-audit-times-');

const record = (i: number): AuditRecordInput => ({ event: 'tool.call', decision: 'allow', tool: `t_${i}` });

describe('file audit sink: write times', () => {
  it("times inline writes as the event loop's, and each record waits at least for its own write", async () => {
    const sink = await openSink(freshFile());
    for (let i = 1; i <= 3; i++) {
      await idle();
      await sink.append(record(i));
    }
    const stats = sink.stats();
    await sink.close();
    assert.equal(stats.inlineSyncs, 3, 'all three inline');
    assert.ok(stats.syncMs > 0, 'the writes took time');
    assert.equal(stats.inlineSyncMs, stats.syncMs, "all of it the event loop's");
    assert.ok(stats.durableWaitMs >= stats.syncMs, `waits ${stats.durableWaitMs} ms, writes ${stats.syncMs} ms`);
  });

  it("times writes made in the pool as the pool's, however many records share them", async () => {
    const sink = await openSink(freshFile(), { othersInProgress: () => true });
    await Promise.all([1, 2, 3, 4, 5].map((i) => sink.append(record(i))));
    await sink.append(record(6));
    const stats = sink.stats();
    await sink.close();
    assert.equal(stats.records, 6);
    assert.equal(stats.inlineSyncs, 0);
    assert.ok(stats.syncMs > 0, 'the writes took time');
    assert.equal(stats.inlineSyncMs, 0, 'none of it inline');
    // Every record of a write waited for all of it: the waits add up to at least the writes' time.
    assert.ok(stats.durableWaitMs >= stats.syncMs, `waits ${stats.durableWaitMs} ms, writes ${stats.syncMs} ms`);
  });

  it("a deferred record's wait counts its deferral", async () => {
    const sink = await openSink(freshFile(), { deferMs: 50 });
    await idle();
    await sink.append(record(1), { deferrable: true });
    const stats = sink.stats();
    await sink.close();
    assert.equal(stats.records, 1);
    // The sink waited 50 ms for company before the write: a timer, which counts on the event loop's clock
    // (whole milliseconds, read once a turn) and may fire a millisecond or two early by performance.now().
    assert.ok(
      stats.durableWaitMs - stats.syncMs >= 45,
      `waited ${stats.durableWaitMs} ms with a write of ${stats.syncMs} ms`,
    );
  });

  it('a rotating log adds up the times of every file it wrote', async () => {
    const file = freshFile();
    const segments: JsonlAuditSink[] = [];
    const sink = await createRotatingAuditSink({
      file,
      rotation: { maxBytes: 400 },
      openSegment: async (continueFrom) => {
        const segment = await openSink(file, { continueFrom });
        segments.push(segment);
        return segment;
      },
    });
    for (let i = 1; i <= 6; i++) await sink.append(record(i));
    await sink.close();
    assert.ok((await listRotatedSegments(file)).length >= 2, 'the log was rotated');
    const sum = (field: keyof AuditWriteStats): number =>
      segments.reduce((total, segment) => total + segment.stats()[field], 0);
    const stats = sink.stats();
    for (const field of ['records', 'syncs', 'inlineSyncs', 'syncMs', 'inlineSyncMs', 'durableWaitMs'] as const)
      assert.ok(Math.abs(stats[field] - sum(field)) < 1e-6, `${field}: ${stats[field]} against ${sum(field)}`);
    assert.ok(stats.syncMs > segments.at(-1)!.stats().syncMs, "the closed files' times are in the total");
  });
});
