import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { readdir, readFile, readlink, stat, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import {
  AuditError,
  computeRecordHash,
  createJsonlAuditSink,
  createMemoryAuditSink,
  GENESIS_HASH,
  readCheckpoint,
  verifyAuditLog,
  type AuditProblemKind,
  type AuditRecord,
  type AuditRecordInput,
} from '../gateway/services/audit/index.js';
import { legacyRecordHash } from '../gateway/services/audit/chain.js';
import { freshAuditFiles } from './helpers/audit-files.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sinkModule = path.join(root, 'gateway/services/audit/jsonl-sink.ts');
const auditCliModule = path.join(root, 'gateway/edges/cli/commands/audit.ts');

const freshFile = freshAuditFiles('portcullis-audit-');

/** The open flags of this process's descriptors on `file`. */
async function descriptorsOf(file: string): Promise<number[]> {
  const flags: number[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => undefined);
    if (target !== file) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => undefined);
    const match = info === undefined ? null : /^flags:\s+([0-7]+)$/m.exec(info);
    if (match !== null) flags.push(Number.parseInt(match[1]!, 8));
  }
  return flags;
}

function call(i: number): AuditRecordInput {
  return {
    event: 'tool.call',
    decision: i % 3 === 0 ? 'deny' : 'allow',
    agentId: 'agent-a',
    tool: `crm_tool${i % 5}`,
    rules: [`r${i % 4}`],
    latencyMs: i,
  };
}

async function readRecords(file: string): Promise<AuditRecord[]> {
  return parseRecords(await readFile(file, 'utf8'));
}

function parseRecords(text: string): AuditRecord[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((l) => l !== '');
}

async function writeLines(file: string, lines: string[]): Promise<void> {
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
}

function assertChain(records: readonly AuditRecord[]): void {
  let prev = GENESIS_HASH;
  records.forEach((record, i) => {
    assert.equal(record.seq, i + 1);
    assert.equal(record.prev, prev);
    assert.equal(computeRecordHash(record), record.hash);
    prev = record.hash;
  });
}

/** Writes `lines` as the log, and checks that a sink refuses to continue it and appends nothing. */
async function assertRefusedToContinue(file: string, lines: string[]): Promise<void> {
  await writeLines(file, lines);
  await assert.rejects(
    createJsonlAuditSink({ file, durability: 'per-record' }),
    (e: unknown) => e instanceof AuditError && e.code === 'AUDIT_CHAIN_CORRUPT',
  );
  assert.deepEqual(await readLines(file), lines, 'nothing was appended');
}

/** A clean log of `n` records, closed, with a checkpoint. */
async function cleanLog(n: number): Promise<{ file: string; checkpointFile: string }> {
  const file = freshFile();
  const checkpointFile = `${file}.checkpoint`;
  const sink = await createJsonlAuditSink({ file, durability: 'per-record', checkpointFile, checkpointEvery: 1000 });
  for (let i = 0; i < n; i++) await sink.append(call(i));
  await sink.close();
  return { file, checkpointFile };
}

describe('memory audit sink', () => {
  it('chains records and redacts secret-looking keys in detail', async () => {
    const sink = createMemoryAuditSink({ now: () => new Date('2030-01-01T00:00:00.000Z') });
    await sink.append(call(1));
    await sink.append({
      event: 'credential.mint',
      jti: 'j-1',
      detail: {
        audience: 'crm',
        headers: { Authorization: 'Bearer abc', 'x-api-key': 'k' },
        nested: [{ client_secret: 's', password: 'p', note: 'fine' }],
      },
    });
    await sink.append(call(2));
    assert.equal(sink.records.length, 3);
    assertChain(sink.records);
    assert.equal(sink.records[0]!.ts, '2030-01-01T00:00:00.000Z');
    const detail = sink.records[1]!.detail as Record<string, unknown>;
    assert.deepEqual(detail, {
      audience: 'crm',
      headers: { Authorization: '[redacted]', 'x-api-key': '[redacted]' },
      nested: [{ client_secret: '[redacted]', password: '[redacted]', note: 'fine' }],
    });
    assert.doesNotMatch(JSON.stringify(sink.records), /Bearer abc/);
    await sink.close();
    await assert.rejects(
      sink.append(call(3)),
      (e: unknown) => e instanceof AuditError && e.code === 'AUDIT_SINK_CLOSED',
    );
  });

  it('does not let an input pre-set the chain fields', async () => {
    const sink = createMemoryAuditSink();
    await sink.append({ ...call(1), seq: 99, prev: 'f'.repeat(64), hash: 'e'.repeat(64) } as AuditRecordInput);
    assertChain(sink.records);
  });
});

describe('JSONL audit sink', () => {
  it('per-record: writes a verifiable chain and continues it across reopen', async () => {
    const file = freshFile();
    const first = await createJsonlAuditSink({ file, durability: 'per-record' });
    for (let i = 0; i < 3; i++) await first.append(call(i));
    // Acknowledged means on disk, before close.
    assert.equal((await readRecords(file)).length, 3);
    await first.close();

    const second = await createJsonlAuditSink({ file, durability: 'per-record' });
    assert.equal(second.head().seq, 3);
    for (let i = 3; i < 6; i++) await second.append(call(i));
    await second.close();

    const records = await readRecords(file);
    assert.equal(records.length, 6);
    assertChain(records);
    const result = await verifyAuditLog(file);
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.records, 6);
  });

  it('writes through a descriptor that syncs every write (O_DSYNC, append-only), closed with the sink', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    await sink.append(call(0));
    const open = await descriptorsOf(file);
    // The kernel shows each descriptor's open flags (octal) in /proc/self/fdinfo.
    const synced = open.filter(
      (flags) =>
        (flags & constants.O_DSYNC) !== 0 && (flags & constants.O_APPEND) !== 0 && (flags & 3) === constants.O_WRONLY,
    );
    assert.equal(
      synced.length,
      1,
      `descriptors of the log and their flags: ${open.map((f) => f.toString(8)).join(', ')}`,
    );
    await sink.close();
    assert.deepEqual(await descriptorsOf(file), []);
  });

  it('batched: each append resolves once its batch is on disk; flush writes a pending batch', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'batched', batchMs: 20 });
    await Promise.all([sink.append(call(0)), sink.append(call(1))]);
    assert.equal((await readRecords(file)).length, 2);
    // A long window, cut short by flush.
    const slow = await createJsonlAuditSink({ file: freshFile(), durability: 'batched', batchMs: 60_000 });
    const pending = slow.append(call(0));
    await slow.flush();
    await pending;
    await slow.close();
    await sink.append(call(2));
    await sink.close();
    const records = await readRecords(file);
    assert.equal(records.length, 3);
    assertChain(records);
  });

  for (const durability of ['per-record', 'batched'] as const) {
    it(`${durability}: concurrent appends keep one valid chain`, async () => {
      const file = freshFile();
      const sink = await createJsonlAuditSink({ file, durability, batchMs: 5 });
      const waves = await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 25; i++)
            await Promise.all([sink.append(call(w * 100 + i)), sink.append(call(w * 100 + i + 50))]);
        }),
      );
      assert.equal(waves.length, 4);
      await sink.close();
      const records = await readRecords(file);
      assert.equal(records.length, 200);
      assertChain(records);
      assert.equal((await verifyAuditLog(file)).ok, true);
    });

    it(`${durability}: close writes everything queued, acknowledged or not`, async () => {
      const file = freshFile();
      const sink = await createJsonlAuditSink({ file, durability, batchMs: 60_000 });
      const appends = Array.from({ length: 50 }, (_, i) => sink.append(call(i)));
      await sink.close();
      await Promise.all(appends);
      const records = await readRecords(file);
      assert.equal(records.length, 50);
      assertChain(records);
      await assert.rejects(
        sink.append(call(51)),
        (e: unknown) => e instanceof AuditError && e.code === 'AUDIT_SINK_CLOSED',
      );
    });
  }

  it('writes the checkpoint every N records (beside the log, not in front of it) and on close', async () => {
    const file = freshFile();
    const checkpointFile = `${file}.checkpoint`;
    const sink = await createJsonlAuditSink({ file, durability: 'per-record', checkpointFile, checkpointEvery: 5 });
    for (let i = 0; i < 7; i++) await sink.append(call(i));
    // Written in the background once record 5 is durable: it shows up without any further append.
    let mid = await readCheckpoint(checkpointFile);
    for (let waited = 0; mid === undefined && waited < 5000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      mid = await readCheckpoint(checkpointFile);
    }
    assert.equal(mid?.seq, 5);
    await sink.close();
    const records = await readRecords(file);
    const end = await readCheckpoint(checkpointFile);
    assert.deepEqual(end, { seq: 7, hash: records[6]!.hash, ts: records[6]!.ts });
  });

  it('keeps one checkpoint file current in place after its first checkpoint, and a restart continues from it', async () => {
    const file = freshFile();
    const checkpointFile = `${file}.checkpoint`;
    const sink = await createJsonlAuditSink({ file, durability: 'per-record', checkpointFile, checkpointEvery: 2 });
    const inodes = new Set<number>();
    for (let i = 0; i < 12; i++) {
      await sink.append(call(i));
      // One checkpoint at a time, in the background: each even record's shows up before the next append.
      const seq = i + 1;
      if (seq % 2 === 1) continue;
      for (let waited = 0; (await readCheckpoint(checkpointFile))?.seq !== seq && waited < 5000; waited += 5)
        await new Promise((resolve) => setTimeout(resolve, 5));
      inodes.add((await stat(checkpointFile)).ino);
    }
    await sink.close();
    assert.equal(inodes.size, 1, 'every checkpoint after the first overwrote the same file');
    assert.equal((await readCheckpoint(checkpointFile))?.seq, 12);
    assert.equal((await verifyAuditLog(file, { checkpointFile })).ok, true);
    const reopened = await createJsonlAuditSink({ file, durability: 'per-record', checkpointFile, checkpointEvery: 2 });
    await reopened.append(call(12));
    await reopened.append(call(13));
    await reopened.close();
    assert.equal((await readCheckpoint(checkpointFile))?.seq, 14);
    assert.equal((await verifyAuditLog(file, { checkpointFile })).ok, true);
  });

  it('under concurrent appends, ends with the checkpoint naming the last record', async () => {
    const file = freshFile();
    const checkpointFile = `${file}.checkpoint`;
    const sink = await createJsonlAuditSink({ file, durability: 'per-record', checkpointFile, checkpointEvery: 3 });
    for (let wave = 0; wave < 10; wave++) await Promise.all(Array.from({ length: 20 }, (_, i) => sink.append(call(i))));
    await sink.close();
    const records = await readRecords(file);
    assert.equal(records.length, 200);
    assert.deepEqual(await readCheckpoint(checkpointFile), {
      seq: 200,
      hash: records[199]!.hash,
      ts: records[199]!.ts,
    });
    const verified = await verifyAuditLog(file, { checkpointFile });
    assert.equal(verified.ok, true);
  });

  it('refuses to continue a log whose last record was edited', async () => {
    const { file } = await cleanLog(3);
    const lines = await readLines(file);
    lines[2] = lines[2]!.replace('"agent-a"', '"agent-b"');
    await assertRefusedToContinue(file, lines);
  });

  it('refuses to continue a log whose last line was rewritten with the same content', async () => {
    const { file } = await cleanLog(3);
    const lines = await readLines(file);
    lines[2] = lines[2]!.replace(/^\{"seq":3,"ts":("[^"]+")/, '{"ts":$1,"seq":3');
    assert.deepEqual(JSON.parse(lines[2]), (await readRecords(file))[2]);
    await assertRefusedToContinue(file, lines);
  });

  it('continues a log begun under the rule before (canonical JSON hashes)', async () => {
    const file = freshFile();
    const older: string[] = [];
    let head = { seq: 0, hash: '0'.repeat(64) };
    for (let i = 0; i < 2; i++) {
      const unsealed = { seq: head.seq + 1, ts: new Date().toISOString(), ...call(i), prev: head.hash };
      const hash = legacyRecordHash(unsealed);
      older.push(JSON.stringify({ ...unsealed, hash }));
      head = { seq: unsealed.seq, hash };
    }
    await writeLines(file, older);
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    assert.deepEqual(sink.head(), head);
    await sink.append(call(2));
    await sink.close();
    const records = await readRecords(file);
    assert.equal(records.length, 3);
    assert.equal(records[2]!.prev, head.hash);
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('cuts a torn last line off at start and records how many bytes were dropped', async () => {
    const { file } = await cleanLog(2);
    const torn = '{"seq":3,"ts":"2030';
    await appendFile(file, torn);
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    await sink.append(call(3));
    await sink.close();
    const records = await readRecords(file);
    assertChain(records);
    assert.equal(records.length, 4);
    assert.equal(records[2]!.event, 'audit.repair');
    assert.deepEqual(records[2]!.detail, {
      droppedBytes: Buffer.byteLength(torn),
      keptBytes: records[2]!.detail!['keptBytes'],
    });
    assert.match(records[2]!.reason ?? '', /incomplete final line of 19 bytes/);
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('refuses to continue a log whose last record does not link to the one before', async () => {
    const { file } = await cleanLog(3);
    const lines = await readLines(file);
    await assertRefusedToContinue(file, [lines[0]!, lines[2]!]);
  });

  it('refuses to continue a log that is shorter than its checkpoint', async () => {
    const { file, checkpointFile } = await cleanLog(5);
    const lines = await readLines(file);
    await writeLines(file, lines.slice(0, 3));
    await assert.rejects(
      createJsonlAuditSink({ file, durability: 'per-record', checkpointFile }),
      (e: unknown) => e instanceof AuditError && e.code === 'AUDIT_CHAIN_CORRUPT' && /checkpoint/.test(e.message),
    );
  });

  it('rejects a record that cannot be serialised without breaking the chain', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    await sink.append(call(0));
    await assert.rejects(sink.append({ event: 'tool.call', detail: { n: 10n } }), TypeError);
    await sink.append(call(1));
    await sink.close();
    assertChain(await readRecords(file));
  });

  it('every acknowledged record survives a SIGKILL of the writer', async () => {
    const file = freshFile();
    const script = `
      import { createJsonlAuditSink } from ${JSON.stringify(sinkModule)};
      const sink = await createJsonlAuditSink({ file: ${JSON.stringify(file)}, durability: 'per-record' });
      process.stdout.write('ready\\n');
      let i = 0;
      const worker = async () => {
        for (;;) {
          const n = i++;
          await sink.append({ event: 'tool.call', decision: 'allow', tool: 'crm_get', latencyMs: n, detail: { n } });
          process.stdout.write('ack ' + n + '\\n');
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const acked = new Set<number>();
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', () => reject(new Error('writer exited before it was killed')));
      lines.on('line', (line) => {
        const match = /^ack (\d+)$/.exec(line);
        if (match !== null) acked.add(Number(match[1]));
        if (acked.size >= 200) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    // Acknowledgements already in the pipe count too: read them all before checking.
    await Promise.all([exited, new Promise((resolve) => lines.once('close', resolve))]);
    assert.equal(await exited, 'SIGKILL');

    // A kill in the middle of a write may leave the last line incomplete (the kernel copies a write page by
    // page and stops at a fatal signal): that record was never acknowledged. Every line before it is whole.
    const text = await readFile(file, 'utf8');
    const torn = !text.endsWith('\n');
    const records = parseRecords(text.slice(0, text.lastIndexOf('\n') + 1));
    const written = new Set(records.map((r) => (r.detail as { n: number }).n));
    for (const n of acked) assert.ok(written.has(n), `acknowledged record ${n} is in the file`);
    assertChain(records);
    const result = await verifyAuditLog(file);
    if (torn) {
      assert.deepEqual(
        result.problems.map((p) => [p.kind, p.line]),
        [['malformed', records.length + 1]],
        JSON.stringify(result.problems),
      );
    } else {
      assert.equal(result.ok, true, JSON.stringify(result.problems));
    }
    // And the log can be continued after the crash: a torn last line is cut off, and the cut recorded.
    const reopened = await createJsonlAuditSink({ file, durability: 'per-record' });
    await reopened.append(call(0));
    await reopened.close();
    assert.equal((await verifyAuditLog(file)).ok, true);
    const continued = await readRecords(file);
    assert.deepEqual(continued.slice(0, records.length), records);
    assert.deepEqual(
      continued.slice(records.length).map((r) => r.event),
      torn ? ['audit.repair', 'tool.call'] : ['tool.call'],
    );
  });
});

describe('verifyAuditLog', () => {
  it('passes a clean log, with and without its checkpoint', async () => {
    const { file, checkpointFile } = await cleanLog(10);
    const plain = await verifyAuditLog(file);
    assert.deepEqual(plain, {
      ok: true,
      records: 10,
      lines: 10,
      lastSeq: 10,
      files: [file],
      problems: [],
      inDoubt: [],
    });
    const checked = await verifyAuditLog(file, { checkpointFile });
    assert.equal(checked.ok, true);
    assert.equal(checked.checkpoint?.seq, 10);
  });

  it('passes an empty log', async () => {
    const file = freshFile();
    await writeFile(file, '');
    assert.deepEqual(await verifyAuditLog(file), {
      ok: true,
      records: 0,
      lines: 0,
      lastSeq: 0,
      files: [file],
      problems: [],
      inDoubt: [],
    });
  });

  async function tampered(mutate: (lines: string[]) => string[], options: { checkpoint?: boolean } = {}) {
    const { file, checkpointFile } = await cleanLog(10);
    await writeLines(file, mutate(await readLines(file)));
    return verifyAuditLog(file, options.checkpoint === true ? { checkpointFile } : {});
  }

  function kinds(result: { problems: { kind: AuditProblemKind }[] }): AuditProblemKind[] {
    return [...new Set(result.problems.map((p) => p.kind))];
  }

  it('detects an edited field', async () => {
    const result = await tampered((lines) => {
      assert.match(lines[4]!, /"latencyMs":4/);
      lines[4] = lines[4]!.replace('"latencyMs":4', '"latencyMs":5');
      return lines;
    });
    assert.equal(result.ok, false);
    assert.deepEqual(kinds(result), ['edited']);
    assert.equal(result.problems[0]!.line, 5);
    assert.equal(result.problems[0]!.seq, 5);
  });

  it('detects an edited record whose hash was recomputed', async () => {
    const result = await tampered((lines) => {
      const record = JSON.parse(lines[4]!) as AuditRecord;
      const forged = { ...record, agentId: 'someone-else' };
      lines[4] = JSON.stringify({ ...forged, hash: computeRecordHash(forged) });
      return lines;
    });
    assert.equal(result.ok, false);
    assert.deepEqual(kinds(result), ['edited']);
    assert.equal(result.problems[0]!.seq, 6, 'the next record no longer links to it');
  });

  it('detects a removed line', async () => {
    const result = await tampered((lines) => lines.filter((_, i) => i !== 3));
    assert.equal(result.ok, false);
    assert.deepEqual(kinds(result), ['removed']);
    assert.equal(result.problems[0]!.seq, 4);
  });

  it('detects two swapped lines', async () => {
    const result = await tampered((lines) => {
      const a = lines[2]!;
      lines[2] = lines[3]!;
      lines[3] = a;
      return lines;
    });
    assert.equal(result.ok, false);
    assert.deepEqual(kinds(result), ['reordered']);
    assert.equal(result.problems.length, 1);
  });

  it('detects an inserted line (a copy, and a forged record)', async () => {
    const copied = await tampered((lines) => [...lines.slice(0, 6), lines[2]!, ...lines.slice(6)]);
    assert.equal(copied.ok, false);
    assert.deepEqual(kinds(copied), ['inserted']);
    assert.equal(copied.problems[0]!.line, 7);

    const forged = await tampered((lines) => {
      const before = JSON.parse(lines[3]!) as AuditRecord;
      const fake = {
        seq: 5,
        ts: before.ts,
        event: 'tool.call',
        decision: 'allow',
        tool: 'crm_delete',
        prev: before.hash,
      };
      return [...lines.slice(0, 4), JSON.stringify({ ...fake, hash: computeRecordHash(fake) }), ...lines.slice(4)];
    });
    assert.equal(forged.ok, false);
    assert.deepEqual(kinds(forged), ['inserted']);
    assert.equal(forged.problems[0]!.line, 5);
  });

  it('detects a truncated tail against the checkpoint (and cannot without one)', async () => {
    const cut = (lines: string[]) => lines.slice(0, 7);
    const withCheckpoint = await tampered(cut, { checkpoint: true });
    assert.equal(withCheckpoint.ok, false);
    assert.deepEqual(kinds(withCheckpoint), ['truncated']);
    assert.equal(withCheckpoint.problems[0]!.seq, 8);
    const withoutCheckpoint = await tampered(cut);
    assert.equal(withoutCheckpoint.ok, true);
  });

  it('detects a rewritten tail against the checkpoint', async () => {
    const result = await tampered(
      (lines) => {
        const records = lines.map((l) => JSON.parse(l) as AuditRecord);
        // Rewrite from seq 8 on with a consistent chain: only the checkpoint can tell.
        let prev = records[6]!.hash;
        for (let i = 7; i < records.length; i++) {
          const body = { ...records[i]!, decision: 'allow' as const, prev };
          const hash = computeRecordHash(body);
          records[i] = { ...body, hash };
          prev = hash;
        }
        return records.map((r) => JSON.stringify(r));
      },
      { checkpoint: true },
    );
    assert.equal(result.ok, false);
    assert.deepEqual(kinds(result), ['edited']);
    assert.equal(result.problems[0]!.seq, 10);
  });

  it('detects malformed JSON and a torn last line', async () => {
    const result = await tampered((lines) => {
      lines[1] = lines[1]!.slice(0, 30);
      return lines;
    });
    assert.equal(result.ok, false);
    assert.ok(kinds(result).includes('malformed'));
    assert.equal(result.problems[0]!.line, 2);

    const { file } = await cleanLog(3);
    await appendFile(file, '{"seq":4');
    const torn = await verifyAuditLog(file);
    assert.equal(torn.ok, false);
    assert.deepEqual(kinds(torn), ['malformed']);
    assert.equal(torn.problems[0]!.line, 4);
  });

  it('rejects an unreadable log with AUDIT_IO_ERROR', async () => {
    await assert.rejects(
      verifyAuditLog(freshFile()),
      (e: unknown) => e instanceof AuditError && e.code === 'AUDIT_IO_ERROR',
    );
  });
});

describe('portcullis audit (CLI)', () => {
  function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const script = `
      import { Command, CommanderError } from 'commander';
      import { auditCommand } from ${JSON.stringify(auditCliModule)};
      const program = new Command('portcullis').exitOverride().addCommand(auditCommand());
      try {
        await program.parseAsync(process.argv.slice(1), { from: 'user' });
      } catch (error) {
        process.exitCode = error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
      }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('verify exits 0 on an intact log, 1 on a tampered one, 2 when it cannot read it', async () => {
    const { file, checkpointFile } = await cleanLog(4);
    const ok = await runCli(['audit', 'verify', file, '--checkpoint', checkpointFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok \(4 records, last seq 4, consistent with checkpoint at seq 4\)/);

    await writeLines(file, (await readLines(file)).slice(0, 3));
    const bad = await runCli(['audit', 'verify', file, '--checkpoint', checkpointFile]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /TAMPERED/);
    assert.match(bad.stdout, /truncated/);

    const missing = await runCli(['audit', 'verify', freshFile()]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read audit log/);

    const usage = await runCli(['audit', 'verify']);
    assert.equal(usage.code, 2, 'a usage error is not reported as tampering');
  });

  it('tail prints the last N records', async () => {
    const { file } = await cleanLog(6);
    const result = await runCli(['audit', 'tail', file, '-n', '2']);
    assert.equal(result.code, 0, result.stderr);
    const printed = result.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as AuditRecord).seq);
    assert.deepEqual(printed, [5, 6]);
  });
});
