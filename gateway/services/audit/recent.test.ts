import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryAuditSink } from './memory-sink.js';
import type { AuditSink } from './types.js';
import { withRecentAudit } from './recent.js';

const failingSink: AuditSink = {
  append: () => Promise.reject(new Error('disk full')),
  flush: async () => undefined,
  close: async () => undefined,
};

describe('recent audit records', () => {
  it('keeps durable records newest first, filtered, without detail or argument hashes', async () => {
    const inner = createMemoryAuditSink();
    const { sink, recent } = withRecentAudit(inner);
    await sink.append({ event: 'tool.call', decision: 'allow', agentId: 'a', tool: 't1', argsHash: 'h' });
    await sink.append({ event: 'tool.call', decision: 'deny', agentId: 'b', tool: 't2', detail: { secret: 'x' } });
    await sink.append({ event: 'tool.call', decision: 'deny', agentId: 'a', tool: 't2', code: 'POLICY_DENIED' });
    assert.equal(inner.records.length, 3, 'every record reaches the real sink');
    assert.deepEqual(
      recent.list().map((r) => [r.agentId, r.tool, r.decision]),
      [
        ['a', 't2', 'deny'],
        ['b', 't2', 'deny'],
        ['a', 't1', 'allow'],
      ],
    );
    assert.deepEqual(
      recent.list({ agentId: 'a', decision: 'deny' }).map((r) => r.code),
      ['POLICY_DENIED'],
    );
    assert.equal(recent.list({ tool: 't2' }, 1).length, 1);
    for (const record of recent.list()) {
      assert.equal('detail' in record, false);
      assert.equal('argsHash' in record, false);
    }
  });

  it('never shows a record the sink refused, and reports the failure', async () => {
    const { sink, recent } = withRecentAudit(failingSink);
    const seen: unknown[] = [];
    recent.subscribe((record) => seen.push(record));
    await assert.rejects(sink.append({ event: 'tool.call', decision: 'allow' }), /disk full/);
    assert.deepEqual(recent.list(), []);
    assert.deepEqual(seen, []);
    assert.match(recent.status().lastFailureAt ?? '', /^\d{4}-/);
    assert.equal(recent.status().lastDurableAt, undefined);
  });

  it('is bounded and tells subscribers about each durable record', async () => {
    const { sink, recent } = withRecentAudit(createMemoryAuditSink(), { capacity: 2 });
    const seen: string[] = [];
    const unsubscribe = recent.subscribe((record) => seen.push(record.tool ?? ''));
    for (const tool of ['one', 'two', 'three']) await sink.append({ event: 'tool.call', tool });
    unsubscribe();
    await sink.append({ event: 'tool.call', tool: 'four' });
    assert.deepEqual(seen, ['one', 'two', 'three']);
    assert.deepEqual(
      recent.list().map((r) => r.tool),
      ['four', 'three'],
    );
  });

  it('keeps the newest records in order as the ring wraps round, many times over', async () => {
    const { sink, recent } = withRecentAudit(createMemoryAuditSink(), { capacity: 3 });
    const seen: string[] = [];
    for (let n = 1; n <= 11; n++) {
      await sink.append({ event: 'tool.call', tool: `t${n}`, agentId: n % 2 === 0 ? 'even' : 'odd' });
      seen.push(`t${n}`);
      const expected = seen.slice(-3).reverse();
      assert.deepEqual(
        recent.list().map((r) => r.tool),
        expected,
        `after ${n}`,
      );
      assert.deepEqual(
        recent.list({}, 2).map((r) => r.tool),
        expected.slice(0, 2),
      );
    }
    assert.deepEqual(
      recent.list({ agentId: 'odd' }).map((r) => r.tool),
      ['t11', 't9'],
    );
    const ids = recent.list().map((r) => r.id);
    assert.deepEqual(ids, [11, 10, 9]);
  });
});
