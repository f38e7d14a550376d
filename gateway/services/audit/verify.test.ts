import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMPTY_HEAD, legacyRecordHash, sealRecord, serialiseRecord } from './chain.js';
import type { AuditRecord, AuditRecordInput } from './types.js';
import { verifyAuditFiles, verifyAuditLog } from './verify.js';

const T = new Date('2026-03-01T12:00:00.000Z');

/** A genuine chain of `n` records (tool calls, or the inputs given). */
function chain(inputs: number | readonly AuditRecordInput[]): AuditRecord[] {
  const list =
    typeof inputs === 'number'
      ? Array.from({ length: inputs }, (_, i) => ({ event: 'tool.call', tool: `t${i + 1}` }) as AuditRecordInput)
      : inputs;
  const out: AuditRecord[] = [];
  let head = EMPTY_HEAD;
  for (const input of list) {
    const record = sealRecord(input, head, T);
    out.push(record);
    head = { seq: record.seq, hash: record.hash };
  }
  return out;
}

const lines = (records: readonly (AuditRecord | string)[]): string =>
  records.map((r) => (typeof r === 'string' ? `${r}\n` : serialiseRecord(r))).join('');

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-verify-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string): Promise<string> {
  const name = path.join(dir, `log-${++counter}.jsonl`);
  await writeFile(name, text);
  return name;
}

async function verifyText(text: string, checkpoint?: object | string) {
  const log = await file(text);
  if (checkpoint === undefined) return { log, result: await verifyAuditLog(log) };
  const checkpointFile = path.join(dir, `checkpoint-${++counter}.json`);
  await writeFile(checkpointFile, typeof checkpoint === 'string' ? checkpoint : JSON.stringify(checkpoint));
  return { log, result: await verifyAuditLog(log, { checkpointFile }) };
}

describe('verifyAuditLog', () => {
  it('accepts an untouched chain and reports its size', async () => {
    const records = chain(3);
    const { log, result } = await verifyText(lines(records));
    assert.deepEqual(result, { ok: true, records: 3, lines: 3, files: [log], lastSeq: 3, problems: [], inDoubt: [] });
  });

  it('accepts an empty log', async () => {
    const { log, result } = await verifyText('');
    assert.deepEqual(result, { ok: true, records: 0, lines: 0, files: [log], lastSeq: 0, problems: [], inDoubt: [] });
  });

  it('names a record whose content was edited', async () => {
    const records = chain(3);
    const edited = { ...records[1]!, tool: 'other' };
    const { log, result } = await verifyText(lines([records[0]!, edited, records[2]!]));
    assert.equal(result.ok, false);
    assert.deepEqual(result.problems, [
      { file: log, line: 2, seq: 2, kind: 'edited', message: 'record seq 2 does not match its hash' },
    ]);
  });

  it('names a record whose members were reordered or spaced out, though it parses to the same record', async () => {
    const records = chain(3);
    const line = serialiseRecord(records[1]!).trimEnd();
    const reordered = line.replace('"event":"tool.call","tool":"t2"', '"tool":"t2","event":"tool.call"');
    const spaced = line.replace('"tool":"t2"', '"tool" : "t2"');
    for (const changed of [reordered, spaced]) {
      assert.notEqual(changed, line);
      assert.deepEqual(JSON.parse(changed), JSON.parse(line));
      const { log, result } = await verifyText(lines([records[0]!, changed, records[2]!]));
      assert.deepEqual(result.problems, [
        { file: log, line: 2, seq: 2, kind: 'edited', message: 'record seq 2 does not match its hash' },
      ]);
    }
  });

  it('accepts a log begun under the rule before (canonical JSON hashes) and continued under this one', async () => {
    const older: AuditRecord[] = [];
    let head = EMPTY_HEAD;
    for (const tool of ['t1', 't2']) {
      const unsealed = { seq: head.seq + 1, ts: T.toISOString(), event: 'tool.call', tool, prev: head.hash };
      const record = { ...unsealed, hash: legacyRecordHash(unsealed) } as AuditRecord;
      older.push(record);
      head = { seq: record.seq, hash: record.hash };
    }
    const newer = sealRecord({ event: 'tool.call', tool: 't3' }, head, T);
    assert.notEqual(newer.hash, legacyRecordHash(newer));
    const { result } = await verifyText(lines([...older, newer]));
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.equal(result.lastSeq, 3);
    const edited = { ...older[1]!, tool: 'other' };
    const { log, result: tampered } = await verifyText(lines([older[0]!, edited, newer]));
    assert.deepEqual(tampered.problems, [
      { file: log, line: 2, seq: 2, kind: 'edited', message: 'record seq 2 does not match its hash' },
    ]);
  });

  it('names the broken link when an edited record was rehashed', async () => {
    const records = chain(3);
    const rehashed = sealRecord({ event: 'tool.call', tool: 'other' }, { seq: 1, hash: records[0]!.hash }, T);
    const { log, result } = await verifyText(lines([records[0]!, rehashed, records[2]!]));
    assert.deepEqual(result.problems, [
      {
        file: log,
        line: 3,
        seq: 3,
        kind: 'edited',
        message: 'record seq 3 does not link to seq 2 (line 2): one of them was altered and rehashed',
      },
    ]);
  });

  it('names a first record that does not start from 64 zeros', async () => {
    const first = sealRecord({ event: 'tool.call' }, { seq: 0, hash: 'a'.repeat(64) }, T);
    const { log, result } = await verifyText(lines([first]));
    assert.deepEqual(result.problems, [
      {
        file: log,
        line: 1,
        seq: 1,
        kind: 'edited',
        message: 'first record does not start the chain (prev is not 64 zeros)',
      },
    ]);
  });

  it('names removed records, one or a range', async () => {
    const records = chain(6);
    const one = await verifyText(lines([records[0]!, records[2]!, records[3]!, records[4]!, records[5]!]));
    assert.deepEqual(
      one.result.problems.filter((p) => p.kind === 'removed'),
      [{ file: one.log, line: 2, seq: 2, kind: 'removed', message: 'record seq 2 is missing (before seq 3)' }],
    );
    const range = await verifyText(lines([records[0]!, records[4]!, records[5]!]));
    assert.deepEqual(
      range.result.problems.filter((p) => p.kind === 'removed'),
      [{ file: range.log, line: 2, seq: 2, kind: 'removed', message: 'record seq 2..4 are missing (before seq 5)' }],
    );
    assert.equal(range.result.lastSeq, 6);
    const head = await verifyText(lines([records[1]!, records[2]!]));
    assert.deepEqual(head.result.problems, [
      { file: head.log, line: 1, seq: 1, kind: 'removed', message: 'record seq 1 is missing (before seq 2)' },
    ]);
  });

  it('names an inserted copy and an inserted second record for a seq, keeping the genuine one', async () => {
    const records = chain(3);
    const copy = await verifyText(lines([records[0]!, records[1]!, records[1]!, records[2]!]));
    assert.deepEqual(copy.result.problems, [
      { file: copy.log, line: 3, seq: 2, kind: 'inserted', message: 'a copy of line 2' },
    ]);
    const forged = sealRecord({ event: 'tool.call', tool: 'forged' }, { seq: 1, hash: records[0]!.hash }, T);
    const second = await verifyText(lines([records[0]!, forged, records[1]!, records[2]!]));
    assert.deepEqual(second.result.problems, [
      {
        file: second.log,
        line: 2,
        seq: 2,
        kind: 'inserted',
        message: 'a second record claiming seq 2 (line 3 holds it)',
      },
    ]);
    assert.equal(second.result.records, 4);
  });

  it('keeps, at the end of the log, the inserted record whose link checks out', async () => {
    const records = chain(2);
    const forged = sealRecord({ event: 'tool.call', tool: 'forged' }, { seq: 1, hash: 'b'.repeat(64) }, T);
    const { log, result } = await verifyText(lines([records[0]!, forged, records[1]!]));
    assert.deepEqual(result.problems, [
      { file: log, line: 2, seq: 2, kind: 'inserted', message: 'a second record claiming seq 2 (line 3 holds it)' },
    ]);
    const first = sealRecord({ event: 'tool.call', tool: 'forged' }, { seq: 0, hash: 'c'.repeat(64) }, T);
    const atStart = await verifyText(lines([first, records[0]!, records[1]!]));
    assert.deepEqual(atStart.result.problems, [
      {
        file: atStart.log,
        line: 1,
        seq: 1,
        kind: 'inserted',
        message: 'a second record claiming seq 1 (line 2 holds it)',
      },
    ]);
  });

  it('keeps the genuine first record when a forged one claims seq 1 and nothing links to either', async () => {
    const records = chain(1);
    const forged = sealRecord({ event: 'tool.call', tool: 'forged' }, { seq: 0, hash: 'c'.repeat(64) }, T);
    const { log, result } = await verifyText(lines([forged, records[0]!]));
    assert.deepEqual(result.problems, [
      { file: log, line: 1, seq: 1, kind: 'inserted', message: 'a second record claiming seq 1 (line 2 holds it)' },
    ]);
  });

  it('keeps the first of records sharing a seq when none of them checks out, and calls one a copy only if it is', async () => {
    const records = chain(3);
    const a = { ...records[1]!, tool: 'a' };
    const b = { ...records[1]!, tool: 'b' };
    const { log, result } = await verifyText(lines([records[0]!, a, b, records[2]!]));
    assert.deepEqual(result.problems, [
      { file: log, line: 2, seq: 2, kind: 'edited', message: 'record seq 2 does not match its hash' },
      { file: log, line: 3, seq: 2, kind: 'inserted', message: 'a second record claiming seq 2 (line 2 holds it)' },
    ]);
    const rehashed = await verifyText(
      lines([records[0]!, records[1]!, { ...records[1]!, hash: 'e'.repeat(64) }, records[2]!]),
    );
    assert.deepEqual(
      rehashed.result.problems.map((p) => p.message),
      ['a second record claiming seq 2 (line 2 holds it)'],
      'the same content under another hash is not a copy',
    );
    const copied = await verifyText(lines([records[0]!, a, a, records[2]!]));
    assert.deepEqual(
      copied.result.problems.map((p) => p.message),
      ['record seq 2 does not match its hash', 'a copy of line 2'],
    );
  });

  it('names the fewest records that explain a reordering', async () => {
    const records = chain(5);
    const swapped = await verifyText(lines([records[0]!, records[2]!, records[1]!, records[3]!, records[4]!]));
    assert.deepEqual(
      swapped.result.problems.filter((p) => p.kind === 'reordered'),
      [{ file: swapped.log, line: 2, seq: 3, kind: 'reordered', message: 'record seq 3 is out of sequence order' }],
    );
    const moved = await verifyText(lines([records[4]!, records[0]!, records[1]!, records[2]!, records[3]!]));
    assert.deepEqual(
      moved.result.problems.filter((p) => p.kind === 'reordered').map((p) => [p.line, p.seq]),
      [[1, 5]],
    );
    const reversed = await verifyText(lines([...records].reverse()));
    assert.deepEqual(
      reversed.result.problems.filter((p) => p.kind === 'reordered').map((p) => p.seq),
      [5, 4, 3, 2],
    );
    assert.equal(reversed.result.problems.filter((p) => p.kind !== 'reordered').length, 0);
  });

  it('names malformed lines and a last line without its newline', async () => {
    const records = chain(2);
    const text = `${lines([records[0]!, 'not json', '', '{"seq":2}'])}${JSON.stringify(records[1])}`;
    const { log, result } = await verifyText(text);
    assert.deepEqual(result.problems, [
      { file: log, line: 2, kind: 'malformed', message: 'not a JSON audit record' },
      { file: log, line: 3, kind: 'malformed', message: 'empty line' },
      { file: log, line: 4, kind: 'malformed', message: 'not a JSON audit record' },
      { file: log, line: 5, kind: 'malformed', message: 'last line has no newline (interrupted write or truncation)' },
    ]);
    assert.equal(result.records, 2);
    assert.equal(result.lines, 5);
    const cut = await verifyText(`${lines([records[0]!])}{"seq":2,"ts`);
    assert.deepEqual(cut.result.problems, [
      { file: cut.log, line: 2, kind: 'malformed', message: 'not a JSON audit record' },
    ]);
    const cutAfterJunk = await verifyText(`${lines([records[0]!, 'junk'])}{"seq":2,"ts`);
    assert.deepEqual(
      cutAfterJunk.result.problems.map((p) => [p.line, p.message]),
      [
        [2, 'not a JSON audit record'],
        [3, 'not a JSON audit record'],
      ],
      'a cut last line that is already named malformed is named once',
    );
  });

  it('compares the log with its checkpoint: truncation, and a rewritten history', async () => {
    const records = chain(4);
    const ok = await verifyText(lines(records), { seq: 3, hash: records[2]!.hash, ts: 'T3' });
    assert.equal(ok.result.ok, true);
    assert.deepEqual(ok.result.checkpoint, { seq: 3, hash: records[2]!.hash, ts: 'T3' });

    const atEnd = await verifyText(lines(records), { seq: 4, hash: records[3]!.hash, ts: 'T4' });
    assert.equal(atEnd.result.ok, true);

    const truncated = await verifyText(lines(records.slice(0, 2)), { seq: 4, hash: records[3]!.hash, ts: 'T4' });
    assert.deepEqual(truncated.result.problems, [
      {
        file: truncated.log,
        line: 3,
        seq: 3,
        kind: 'truncated',
        message: 'log ends at seq 2 but the checkpoint (T4) records seq 4: records were cut off the end',
      },
    ]);

    const rewritten = await verifyText(lines(records), { seq: 2, hash: 'd'.repeat(64), ts: 'T2' });
    assert.deepEqual(rewritten.result.problems, [
      {
        file: rewritten.log,
        line: 2,
        seq: 2,
        kind: 'edited',
        message: 'record seq 2 differs from the checkpoint: the log was rewritten from this record on or before',
      },
    ]);

    const empty = await verifyText('', { seq: 0, hash: '0'.repeat(64), ts: 'T0' });
    assert.equal(empty.result.ok, true);
  });

  it('lists problems in line order, a problem with the checkpoint first', async () => {
    const records = chain(4);
    const edited = { ...records[3]!, tool: 'other' };
    const { log, result } = await verifyText(lines([records[0]!, records[2]!, records[1]!, edited]), '{"seq":1}');
    assert.deepEqual(
      result.problems.map((p) => [p.file, p.line, p.kind]),
      [
        [undefined, 0, 'malformed'],
        [log, 2, 'reordered'],
        [log, 4, 'edited'],
      ],
    );
  });

  it('reports a malformed checkpoint as a problem at line 0, and a missing one as an error', async () => {
    const records = chain(1);
    const { result } = await verifyText(lines(records), '{"seq":1}');
    assert.equal(result.ok, false);
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0]!.line, 0);
    assert.equal(result.problems[0]!.kind, 'malformed');
    assert.match(result.problems[0]!.message, /is not a \{ seq, hash, ts \} object$/);
    assert.equal('file' in result.problems[0]!, false);
    assert.equal('checkpoint' in result, false);

    const log = await file(lines(records));
    const missing = path.join(dir, 'no-such-checkpoint.json');
    await assert.rejects(verifyAuditLog(log, { checkpointFile: missing }), {
      name: 'AuditError',
      code: 'AUDIT_IO_ERROR',
      message: `audit checkpoint ${missing} does not exist`,
    });
    const damaged = await file(lines([records[0]!, 'junk']));
    await assert.rejects(verifyAuditLog(damaged, { checkpointFile: missing }), {
      code: 'AUDIT_IO_ERROR',
      message: `audit checkpoint ${missing} does not exist`,
    });
    await assert.rejects(verifyAuditLog(log, { checkpointFile: dir }), {
      code: 'AUDIT_IO_ERROR',
      message: `cannot read audit checkpoint ${dir}: EISDIR`,
    });
  });

  it('fails with AUDIT_IO_ERROR when the log cannot be read', async () => {
    const missing = path.join(dir, 'missing.jsonl');
    await assert.rejects(verifyAuditLog(missing), (error: Error) => {
      assert.equal(error.name, 'AuditError');
      assert.equal((error as Error & { code?: string }).code, 'AUDIT_IO_ERROR');
      assert.equal(error.message, `cannot read audit log ${missing}: ENOENT`);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT', 'the file system error is kept as the cause');
      return true;
    });
    await assert.rejects(verifyAuditLog(dir), {
      code: 'AUDIT_IO_ERROR',
      message: `cannot read audit log ${dir}: EISDIR`,
    });
    await assert.rejects(verifyAuditFiles([]), { code: 'AUDIT_IO_ERROR', message: 'no audit log files to verify' });
  });

  it('fails with AUDIT_IO_ERROR ending in "error" when reading fails without a system error code', async () => {
    // A record nested too deeply to hash: canonical JSON overflows the stack, a RangeError with no `code`.
    const [record] = chain(1);
    const depth = 100_000;
    const line = serialiseRecord(record!).trimEnd();
    const deep = `${line.slice(0, -1)},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const log = await file(`${deep}\n`);
    await assert.rejects(verifyAuditLog(log), (error: Error) => {
      assert.equal((error as Error & { code?: string }).code, 'AUDIT_IO_ERROR');
      assert.equal(error.message, `cannot read audit log ${log}: error`);
      assert.ok(error.cause instanceof RangeError);
      return true;
    });
  });

  it('leaves no file open once it has answered', async () => {
    // Linux shows this process's open descriptors in /proc; elsewhere there is nothing to count.
    const openFiles = (): number => readdirSync('/proc/self/fd').length;
    if (!existsSync('/proc/self/fd')) return;
    const log = await file(lines(chain(3)));
    const before = openFiles();
    for (let i = 0; i < 5; i++) assert.equal((await verifyAuditLog(log)).ok, true);
    // A read stream closes its descriptor just after its last data: give that a moment, never a leak. (A
    // stream of an earlier test may still be closing when `before` is counted: at most one fewer after.)
    const deadline = Date.now() + 2_000;
    while (openFiles() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(openFiles() <= before, `${openFiles() - before} more files open than before`);
  });

  it('lists calls whose decision has no outcome record as in doubt, not as tampering', async () => {
    const records = chain([
      { event: 'call.intent', callId: 'c1', tool: 'a', agentId: 'ag' },
      { event: 'tool.call', callId: 'c1', tool: 'a' },
      { event: 'call.intent', callId: 'c2', tool: 'b', agentId: 'ag' },
      { event: 'task.open' },
      { event: 'call.intent', callId: 'c3', tool: 7 as unknown as string },
      // Without a string callId a record neither opens nor closes a call.
      { event: 'call.intent', tool: 'no-call-id' },
      { event: 'call.intent', callId: 9 as unknown as string },
    ]);
    const { result } = await verifyText(lines(records));
    assert.equal(result.ok, true);
    assert.deepEqual(result.inDoubt, [
      { line: 3, seq: 3, callId: 'c2', tool: 'b', agentId: 'ag', ts: T.toISOString() },
      { line: 5, seq: 5, callId: 'c3', ts: T.toISOString() },
    ]);
  });
});

describe('verifyAuditFiles', () => {
  it('verifies a rotated set as one chain, with problems located per file', async () => {
    const records = chain(6);
    const a = await file(lines(records.slice(0, 2)));
    const b = await file(lines(records.slice(2, 4)));
    const c = await file(lines(records.slice(4)));
    const whole = await verifyAuditFiles([a, b, c]);
    assert.deepEqual(whole, {
      ok: true,
      records: 6,
      lines: 6,
      files: [a, b, c],
      lastSeq: 6,
      problems: [],
      inDoubt: [],
    });

    const missing = await verifyAuditFiles([a, c]);
    assert.deepEqual(missing.problems, [
      {
        file: c,
        line: 1,
        seq: 3,
        kind: 'removed',
        message: 'record seq 3..4 are missing (before seq 5): a file of the set is missing or was cut short',
      },
    ]);

    const edited = await file(lines([records[2]!, { ...records[3]!, tool: 'x' }]));
    const located = await verifyAuditFiles([a, edited, c]);
    assert.deepEqual(located.problems, [
      { file: edited, line: 2, seq: 4, kind: 'edited', message: 'record seq 4 does not match its hash' },
    ]);
  });

  it('names the file of an in-doubt call in a rotated set', async () => {
    const records = chain([{ event: 'task.open' }, { event: 'call.intent', callId: 'c1' }]);
    const a = await file(lines(records.slice(0, 1)));
    const b = await file(lines(records.slice(1)));
    const result = await verifyAuditFiles([a, b]);
    assert.deepEqual(result.inDoubt, [{ file: b, line: 1, seq: 2, callId: 'c1', ts: T.toISOString() }]);
  });

  it('does not call a gap inside one file of a set a missing file', async () => {
    const records = chain(4);
    const a = await file(lines(records.slice(0, 1)));
    const b = await file(lines([records[1]!, records[3]!]));
    const result = await verifyAuditFiles([a, b]);
    assert.deepEqual(result.problems, [
      { file: b, line: 2, seq: 3, kind: 'removed', message: 'record seq 3 is missing (before seq 4)' },
    ]);
  });
});
