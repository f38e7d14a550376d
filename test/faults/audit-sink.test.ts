/**
 * The file audit sink under faults, on real files and real processes: a crash that tore the last line is
 * repaired at start (never a refusal to start), calls whose decision has no outcome are reported in doubt
 * by `portcullis audit verify`, concurrent appends share syncs, and `batched` adds no wait when idle.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { createJsonlAuditSink, verifyAuditLog, type AuditRecord } from '../../gateway/services/audit/index.js';
import { cliArgs } from '../fixtures/gateway-process.js';
import { freshAuditFiles } from '../helpers/audit-files.js';

const run = promisify(execFile);

const freshFile = freshAuditFiles('portcullis-faults-audit-');

async function records(file: string): Promise<AuditRecord[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}

async function verifyCli(file: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, cliArgs('audit', 'verify', file));
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe('audit sink under faults', () => {
  it('a writer killed mid-line leaves a log that the next start repairs and continues', async () => {
    const file = freshFile();
    const first = await createJsonlAuditSink({ file, durability: 'per-record' });
    for (let i = 0; i < 3; i++) await first.append({ event: 'tool.call', decision: 'allow', tool: `t${i}` });
    await first.close();
    // What a crash in the middle of a write leaves behind: part of a line, no newline.
    const torn = '{"seq":4,"ts":"2030-01-01T00:00:00.000Z","event":"tool.ca';
    await appendFile(file, torn);
    assert.equal((await verifyCli(file)).code, 1, 'the torn log does not verify as it is');

    const second = await createJsonlAuditSink({ file, durability: 'per-record' });
    await second.append({ event: 'tool.call', decision: 'deny', tool: 'after-restart' });
    await second.close();

    const kept = await records(file);
    assert.deepEqual(
      kept.map((r) => r.event),
      ['tool.call', 'tool.call', 'tool.call', 'audit.repair', 'tool.call'],
    );
    assert.equal(kept[3]!.detail?.['droppedBytes'], Buffer.byteLength(torn));
    const cli = await verifyCli(file);
    assert.equal(cli.code, 0, cli.stdout);
    assert.match(cli.stdout, /ok \(5 records, last seq 5\)/);
  });

  it('`audit verify` names decisions without an outcome as in doubt', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    await sink.append({ event: 'call.intent', decision: 'allow', callId: 'c-done', tool: 'api_a', agentId: 'bot' });
    await sink.append({ event: 'tool.call', decision: 'allow', callId: 'c-done', tool: 'api_a', agentId: 'bot' });
    await sink.append({ event: 'call.intent', decision: 'allow', callId: 'c-lost', tool: 'api_b', agentId: 'bot' });
    await sink.close();

    const result = await verifyAuditLog(file);
    assert.equal(result.ok, true, 'in doubt is not tampering');
    assert.deepEqual(
      result.inDoubt.map((c) => [c.callId, c.tool, c.seq]),
      [['c-lost', 'api_b', 3]],
    );
    const cli = await verifyCli(file);
    assert.equal(cli.code, 0);
    assert.match(cli.stdout, /1 call IN DOUBT/);
    assert.match(cli.stdout, /line 3 seq 3: call c-lost api_b by bot/);
    assert.doesNotMatch(cli.stdout, /c-done/);
  });

  it('concurrent appends share syncs (group commit)', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => sink.append({ event: 'tool.call', decision: 'allow', latencyMs: i })),
    );
    const stats = sink.stats();
    await sink.close();
    assert.equal(stats.records, 200);
    assert.ok(stats.syncs < 20, `200 concurrent records took ${stats.syncs} syncs`);
    console.log(`group commit: 200 concurrent records, ${stats.syncs} syncs`);
    assert.equal((await verifyAuditLog(file)).ok, true);
  });

  it('batched: an append to an idle sink is written at once, not after the batch window', async () => {
    const file = freshFile();
    // A window of ten minutes: if an idle append waited for it, this test would time out.
    const sink = await createJsonlAuditSink({ file, durability: 'batched', batchMs: 600_000 });
    await sink.append({ event: 'tool.call', decision: 'allow', tool: 'first' });
    assert.equal((await records(file)).length, 1, 'durable when acknowledged');
    await sink.close();
  });

  it('defaults stay durable: an acknowledged record is already in the file', async () => {
    const file = freshFile();
    const sink = await createJsonlAuditSink({ file, durability: 'per-record' });
    await sink.append({ event: 'tool.call', decision: 'allow', tool: 'x' });
    assert.equal((await records(file)).length, 1);
    await sink.close();
  });
});
