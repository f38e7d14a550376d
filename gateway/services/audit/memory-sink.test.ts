import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heapUsedAfterCollection } from '../../../test/helpers/heap.js';
import { AuditSchema } from '../../config/schema.js';
import { createMemoryAuditSink } from './memory-sink.js';
import { openAuditSink } from './open-audit.js';

const detail = { note: 'x'.repeat(20_000) };

describe('memory audit sink', () => {
  it('keeps every record by default, in chain order', async () => {
    const sink = createMemoryAuditSink();
    for (let i = 0; i < 5; i++) await sink.append({ event: 'tool.call', tool: `t${i}` });
    assert.deepEqual(
      sink.records.map((r) => r.seq),
      [1, 2, 3, 4, 5],
    );
  });

  it('keeps only the latest records when told how many, and the chain goes on', async () => {
    const sink = createMemoryAuditSink({ keep: 2 });
    for (let i = 0; i < 5; i++) await sink.append({ event: 'tool.call', tool: `t${i}` });
    assert.deepEqual(
      sink.records.map((r) => [r.seq, r.tool]),
      [
        [4, 't3'],
        [5, 't4'],
      ],
    );
    assert.equal(sink.head().seq, 5);
    assert.equal(sink.records[1]!.prev, sink.records[0]!.hash);
    const none = createMemoryAuditSink({ keep: 0 });
    await none.append({ event: 'tool.call' });
    assert.equal(none.records.length, 0);
    assert.equal(none.head().seq, 1);
  });

  it('refuses a count that is not a whole number of records', () => {
    for (const keep of [-1, 1.5, Number.NaN]) assert.throws(() => createMemoryAuditSink({ keep }), RangeError);
  });

  it('does not grow without bound in a gateway configured without an audit file', async () => {
    const sink = await openAuditSink(AuditSchema.parse({}), { onFailure: () => undefined });
    const before = heapUsedAfterCollection();
    // 2,000 records of 20 KB each: 40 MB if they were kept.
    for (let i = 0; i < 2_000; i++) await sink.append({ event: 'tool.call', tool: 'bulk', detail });
    const grown = heapUsedAfterCollection() - before;
    assert.ok(grown < 8 * 1024 * 1024, `the heap grew by ${Math.round(grown / 1024)} KB`);
    await sink.close();
  });
});
