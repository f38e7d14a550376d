/**
 * Deferrable appends to the file audit sink: a record nobody waits for (an outcome record with
 * `flushBeforeResponse: false`) shares the next append's synced write instead of taking one of its own,
 * never waits longer than `deferMs`, and is never lost: flush and close write it at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createJsonlAuditSink,
  createRotatingAuditSink,
  reportingAuditSink,
  verifyAuditLog,
  withRecentAudit,
  type AppendOptions,
  type AuditRecordInput,
  type AuditSink,
  type JsonlAuditSink,
} from '../gateway/services/audit/index.js';
import { freshAuditFiles, readAudit } from './helpers/audit-files.js';

const freshFile = freshAuditFiles('portcullis-audit-deferred-');

function record(event: AuditRecordInput['event'], i: number): AuditRecordInput {
  return { event, decision: 'allow', agentId: 'agent-1', tool: 'api_text', callId: `call-${i}` };
}

async function eventsIn(file: string): Promise<string[]> {
  return (await readAudit(file)).map((r) => `${String(r['event'])} ${String(r['callId'])}`);
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

/** Records and syncs so far (whether a sync was inline is not what these tests are about). */
const writes = (sink: JsonlAuditSink): { records: number; syncs: number } => {
  const { records, syncs } = sink.stats();
  return { records, syncs };
};

/** Resolves with 'timeout' when `promise` has not settled within `ms`. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);

describe('file audit sink: deferrable appends', () => {
  it("rides with the next append's synced write, in chain order", async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record', deferMs: 60_000 });
    const outcome = sink.append(record('tool.call', 1), { deferrable: true });
    await turns(4);
    assert.deepEqual(await eventsIn(file), [], 'a deferrable record on an idle sink was written on its own');
    assert.deepEqual(writes(sink), { records: 0, syncs: 0 });
    const intent = sink.append(record('call.intent', 2));
    await Promise.all([outcome, intent]);
    assert.deepEqual(await eventsIn(file), ['tool.call call-1', 'call.intent call-2']);
    assert.deepEqual(writes(sink), { records: 2, syncs: 1 });
    await sink.close();
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('alone, is durable within deferMs', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record', deferMs: 20 });
    assert.notEqual(await within(sink.append(record('tool.call', 1), { deferrable: true }), 10_000), 'timeout');
    assert.deepEqual(await eventsIn(file), ['tool.call call-1']);
    assert.deepEqual(writes(sink), { records: 1, syncs: 1 });
    await sink.close();
  });

  it('is written at once by flush and by close', async () => {
    const flushed = freshFile();
    const sink = await createJsonlAuditSink({ file: flushed, durability: 'per-record', deferMs: 60_000 });
    const pending = sink.append(record('tool.call', 1), { deferrable: true });
    await sink.flush();
    await pending;
    assert.deepEqual(await eventsIn(flushed), ['tool.call call-1']);
    await sink.close();

    const closed = freshFile();
    const closing = await createJsonlAuditSink({ file: closed, durability: 'per-record', deferMs: 60_000 });
    const last = closing.append(record('tool.call', 2), { deferrable: true });
    assert.notEqual(await within(closing.close(), 10_000), 'timeout');
    await last;
    assert.deepEqual(await eventsIn(closed), ['tool.call call-2']);
  });

  it('is not held back while a write is in flight: it goes with the next batch', async () => {
    const file = freshFile();
    // Writes through the thread pool (never inline), so that the first one is still in flight.
    const sink = await createJsonlAuditSink({ file, durability: 'per-record', deferMs: 60_000, idleGapMs: Infinity });
    const first = sink.append(record('call.intent', 1));
    // The first write is queued for the next microtask; this one arrives while it is being written.
    await Promise.resolve();
    await Promise.resolve();
    const outcome = sink.append(record('tool.call', 1), { deferrable: true });
    await first;
    assert.notEqual(await within(outcome, 10_000), 'timeout', 'the deferrable record waited for its timer');
    assert.deepEqual(await eventsIn(file), ['call.intent call-1', 'tool.call call-1']);
    await sink.close();
  });

  it('batched durability spaces its own syncs: a deferrable append to an idle sink is written at once', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'batched', batchMs: 20, deferMs: 60_000 });
    assert.notEqual(await within(sink.append(record('tool.call', 1), { deferrable: true }), 10_000), 'timeout');
    assert.deepEqual(await eventsIn(file), ['tool.call call-1']);
    await sink.close();
  });

  it('refuses a negative deferMs', async () => {
    await assert.rejects(
      createJsonlAuditSink({ file: freshFile(), durability: 'per-record', deferMs: -1 }),
      /deferMs must be a non-negative number/,
    );
  });
});

describe('audit sink wrappers pass the append options on', () => {
  function innerSink(): AuditSink & { seen: (AppendOptions | undefined)[] } {
    const seen: (AppendOptions | undefined)[] = [];
    return {
      seen,
      append: async (_record, options) => {
        seen.push(options);
      },
      flush: async () => undefined,
      close: async () => undefined,
    };
  }

  it('the reporting sink and the recent-records view', async () => {
    const inner = innerSink();
    const { sink } = withRecentAudit(reportingAuditSink(inner, { onFailure: () => undefined }));
    await sink.append(record('tool.call', 1), { deferrable: true });
    await sink.append(record('call.intent', 2));
    assert.deepEqual(inner.seen, [{ deferrable: true }, undefined]);
  });

  it('the rotating sink', async () => {
    const file = freshFile();
    const sink = await createRotatingAuditSink({
      file,
      rotation: { maxBytes: 1_000_000 },
      openSegment: (continueFrom) =>
        createJsonlAuditSink({ file, continueFrom, durability: 'per-record', deferMs: 60_000 }),
    });
    const outcome = sink.append(record('tool.call', 1), { deferrable: true });
    await turns(4);
    assert.deepEqual(await eventsIn(file), [], 'the rotating sink dropped the option');
    await Promise.all([outcome, sink.append(record('call.intent', 2))]);
    assert.deepEqual(await eventsIn(file), ['tool.call call-1', 'call.intent call-2']);
    await sink.close();
  });
});
