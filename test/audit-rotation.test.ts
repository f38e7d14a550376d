/**
 * Audit log rotation and the SIEM export, on real files: rotation by size and by UTC hour keeps accepting
 * appends (none refused, none lost), the hash chain continues across files and across a restart, and
 * `audit verify` over the set detects a missing, reordered or edited file (library and CLI). The stdout
 * export carries exactly the durable lines of the file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../gateway/config/index.js';
import { AuditSchema } from '../gateway/config/schema.js';
import { startStdioGateway } from '../gateway/index.js';
import {
  createJsonlAuditSink,
  createRotatingAuditSink,
  listAuditFiles,
  listRotatedSegments,
  openAuditSink,
  rotatedSegmentName,
  verifyAuditFiles,
  type AuditChainHead,
  type AuditRotation,
  type AuditSink,
} from '../gateway/services/audit/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const auditCliModule = path.join(root, 'gateway', 'edges', 'cli', 'commands', 'audit.ts');

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-audit-rotation-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshFile(name: string): Promise<string> {
  const sub = path.join(dir, name);
  await mkdir(sub, { recursive: true });
  return path.join(sub, 'audit.jsonl');
}

function rotating(
  file: string,
  rotation: AuditRotation,
  now?: () => Date,
): Promise<Awaited<ReturnType<typeof createRotatingAuditSink>>> {
  return createRotatingAuditSink({
    file,
    rotation,
    ...(now !== undefined ? { now } : {}),
    openSegment: (continueFrom: AuditChainHead) =>
      createJsonlAuditSink({
        file,
        durability: 'per-record',
        checkpointFile: `${file}.checkpoint.json`,
        continueFrom,
        ...(now !== undefined ? { now } : {}),
      }),
  });
}

const record = (i: number) => ({
  event: 'tool.call' as const,
  decision: 'allow' as const,
  tool: `t_${i}`,
  latencyMs: i,
});

async function readRecords(files: readonly string[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const line of text.split('\n')) if (line !== '') out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** A log of `count` records rotated by size into several files, closed. */
async function rotatedLog(name: string, count: number): Promise<string> {
  const file = await freshFile(name);
  const sink = await rotating(file, { maxBytes: 1500 });
  for (let i = 1; i <= count; i++) await sink.append(record(i));
  await sink.close();
  return file;
}

describe('audit rotation by size', () => {
  it('rotates while appends keep coming: none refused, none lost, one chain across the files', async () => {
    const file = await freshFile('size');
    const sink = await rotating(file, { maxBytes: 2000 });
    // Concurrent bursts, so appends arrive while a rotation is in progress.
    for (let burst = 0; burst < 10; burst++)
      await Promise.all(Array.from({ length: 20 }, (_, i) => sink.append(record(burst * 20 + i + 1))));
    await sink.close();

    const rotated = await listRotatedSegments(file);
    assert.ok(rotated.length >= 5, `rotated into ${rotated.length} files`);
    const files = await listAuditFiles(file);
    assert.deepEqual(files, [...rotated, file]);
    const result = await verifyAuditFiles(files, { checkpointFile: `${file}.checkpoint.json` });
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.records, 200);
    assert.equal(result.lastSeq, 200);
    const records = await readRecords(files);
    assert.deepEqual(
      records.map((r) => r['tool']),
      Array.from({ length: 200 }, (_, i) => `t_${i + 1}`),
      'every record, in call order',
    );
    // Each rotated file is named after its first record.
    for (const segment of rotated) {
      const [first] = await readRecords([segment]);
      assert.equal(segment, rotatedSegmentName(file, first!['seq'] as number));
    }
  });

  it('continues the chain after a restart, also when the active file is empty', async () => {
    const file = await rotatedLog('restart', 30);
    // Rotate the last file by hand state: reopen, write, close; then reopen on a fresh (empty) active file.
    const again = await rotating(file, { maxBytes: 1500 });
    assert.equal(again.head().seq, 30);
    await again.append(record(31));
    await again.close();
    await rename(file, rotatedSegmentName(file, (await readRecords([file]))[0]!['seq'] as number));
    const third = await rotating(file, { maxBytes: 1500 });
    assert.equal(third.head().seq, 31, 'an empty active file continues from the newest rotated file');
    await third.append(record(32));
    await third.close();
    const result = await verifyAuditFiles(await listAuditFiles(file), { checkpointFile: `${file}.checkpoint.json` });
    assert.deepEqual(result.problems, []);
    assert.equal(result.lastSeq, 32);
  });

  it('keeps writing to the same file when the rotated name is taken (no record lost, rotation retried)', async () => {
    const file = await freshFile('taken');
    const sink = await rotating(file, { maxBytes: 1500 });
    await mkdir(rotatedSegmentName(file, 1)); // a directory squats the name the first rotation needs
    for (let i = 1; i <= 40; i++) await sink.append(record(i));
    await sink.close();
    const result = await verifyAuditFiles([file], { checkpointFile: `${file}.checkpoint.json` });
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 40);
  });
});

describe('audit rotation by time', () => {
  it('starts a new file with the first record of a new UTC hour', async () => {
    const file = await freshFile('hourly');
    let clock = new Date('2026-12-02T06:59:58.000Z');
    const sink = await rotating(file, { every: 'hour' }, () => clock);
    await sink.append(record(1));
    await sink.append(record(2));
    clock = new Date('2026-12-02T07:00:01.000Z');
    await sink.append(record(3));
    await sink.append(record(4));
    await sink.close();
    const rotated = await listRotatedSegments(file);
    assert.deepEqual(rotated, [rotatedSegmentName(file, 1)]);
    assert.deepEqual(
      (await readRecords(rotated)).map((r) => r['seq']),
      [1, 2],
    );
    assert.deepEqual(
      (await readRecords([file])).map((r) => r['seq']),
      [3, 4],
    );
    const result = await verifyAuditFiles(await listAuditFiles(file));
    assert.equal(result.ok, true, JSON.stringify(result.problems));
  });
});

describe('audit verify over a rotated set', () => {
  it('detects a missing file in the middle', async () => {
    const file = await rotatedLog('missing-middle', 40);
    const rotated = await listRotatedSegments(file);
    assert.ok(rotated.length >= 3);
    await unlink(rotated[1]!);
    const result = await verifyAuditFiles(await listAuditFiles(file));
    assert.equal(result.ok, false);
    const removed = result.problems.find((p) => p.kind === 'removed');
    assert.ok(removed !== undefined, JSON.stringify(result.problems));
    assert.match(removed.message, /a file of the set is missing/);
    assert.equal(removed.file, rotated[2], 'named at the file after the gap');
  });

  it('detects a missing first file', async () => {
    const file = await rotatedLog('missing-first', 40);
    const rotated = await listRotatedSegments(file);
    await unlink(rotated[0]!);
    const result = await verifyAuditFiles(await listAuditFiles(file));
    assert.equal(result.ok, false);
    assert.ok(result.problems.some((p) => p.kind === 'removed' && p.seq === 1));
  });

  it('detects reordered files', async () => {
    const file = await rotatedLog('reordered', 40);
    const rotated = await listRotatedSegments(file);
    const swap = `${rotated[0]!}.swap`;
    await rename(rotated[0]!, swap);
    await rename(rotated[1]!, rotated[0]!);
    await rename(swap, rotated[1]!);
    const result = await verifyAuditFiles(await listAuditFiles(file));
    assert.equal(result.ok, false);
    assert.ok(
      result.problems.some((p) => p.kind === 'reordered'),
      JSON.stringify(result.problems),
    );
  });

  it('detects an edited record in a rotated file, and names the file and line', async () => {
    const file = await rotatedLog('edited', 40);
    const rotated = await listRotatedSegments(file);
    const target = rotated[1]!;
    const lines = (await readFile(target, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace('"decision":"allow"', '"decision":"deny"');
    await writeFile(target, lines.join('\n'));
    const result = await verifyAuditFiles(await listAuditFiles(file));
    assert.equal(result.ok, false);
    const edited = result.problems.find((p) => p.kind === 'edited');
    assert.deepEqual({ file: edited?.file, line: edited?.line }, { file: target, line: 2 });
  });

  it('the CLI verifies the whole set: exit 0 intact, 1 with a file missing', async () => {
    const file = await rotatedLog('cli', 40);
    const ok = await runCli(['audit', 'verify', file, '--checkpoint', `${file}.checkpoint.json`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok \(40 records, \d+ files, last seq 40/);
    const rotated = await listRotatedSegments(file);
    await unlink(rotated[1]!);
    const bad = await runCli(['audit', 'verify', file, '--checkpoint', `${file}.checkpoint.json`]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /TAMPERED/);
    assert.match(bad.stdout, /removed: .*a file of the set is missing/);
  });
});

describe('audit export for SIEMs', () => {
  it('writes each durable record as one JSON line, identical to the file, across rotations', async () => {
    const file = await freshFile('export');
    const stream = new PassThrough();
    let exported = '';
    stream.on('data', (chunk: Buffer) => (exported += chunk.toString()));
    const sink: AuditSink = await openAuditSink(
      { file, durability: 'per-record', flushBeforeResponse: true, rotate: { maxBytes: 4096 }, export: 'stdout' },
      { onFailure: () => assert.fail('no append may fail') },
      { exportStream: stream },
    );
    for (let i = 1; i <= 60; i++) await sink.append(record(i));
    await sink.close();
    const files = await listAuditFiles(file);
    assert.ok(files.length >= 2, 'the log rotated');
    const inFiles = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('');
    assert.equal(exported, inFiles);
    assert.equal(exported.split('\n').filter((l) => l !== '').length, 60);
  });
});

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

describe('audit rotation and export configuration', () => {
  it('refuses rotation or export without a file, and a rotation that names no trigger', () => {
    assert.equal(AuditSchema.safeParse({ rotate: { maxBytes: 1_000_000 } }).success, false);
    assert.equal(AuditSchema.safeParse({ export: 'stdout' }).success, false);
    assert.equal(AuditSchema.safeParse({ file: 'a.jsonl', rotate: {} }).success, false);
    assert.equal(AuditSchema.safeParse({ file: 'a.jsonl', rotate: { maxBytes: 10 } }).success, false, 'too small');
    const ok = AuditSchema.safeParse({
      file: 'a.jsonl',
      rotate: { maxBytes: 1_000_000, every: 'day' },
      export: 'stdout',
    });
    assert.equal(ok.success, true);
  });
});

describe('audit export on stdout with the stdio front door', () => {
  it('refuses to start: stdout carries MCP there', async () => {
    const file = await freshFile('stdio');
    const yaml = `audit:\n  file: ${JSON.stringify(file)}\n  export: stdout\nagents: []\nconnectors: []\n`;
    const loaded = parseConfigText(yaml, path.join(path.dirname(file), 'portcullis.yaml'));
    await assert.rejects(
      startStdioGateway({ loaded }),
      /audit\.export: stdout cannot be used with the stdio front door/,
    );
    await assert.rejects(readFile(file), { code: 'ENOENT' }, 'nothing was opened');
  });
});
