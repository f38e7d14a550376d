import assert from 'node:assert/strict';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CHECKPOINT_FILE_BYTES,
  openCheckpointWriter,
  readCheckpoint,
  readStably,
  writeCheckpoint,
  type AuditCheckpoint,
} from './checkpoint.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

function checkpoint(seq: number, hash = HASH_A): AuditCheckpoint {
  return { seq, hash, ts: `2026-12-05T10:00:${String(seq % 60).padStart(2, '0')}.000Z` };
}

describe('checkpoint writer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-checkpoint-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the file, then overwrites that same file in place, each checkpoint read back exactly', async () => {
    const file = path.join(dir, 'in-place.checkpoint.json');
    const writer = openCheckpointWriter(file);
    await writer.write(checkpoint(9_999_999));
    const first = await stat(file);
    assert.deepEqual(await readCheckpoint(file), checkpoint(9_999_999));
    // Shorter, longer and equal-length checkpoints after it: nothing of an earlier one may show through.
    for (const next of [checkpoint(7, HASH_B), checkpoint(123_456_789_012), checkpoint(8)]) {
      await writer.write(next);
      assert.deepEqual(await readCheckpoint(file), next);
      const now = await stat(file);
      assert.equal(now.ino, first.ino, 'the file is overwritten, not replaced');
      assert.equal(now.size, CHECKPOINT_FILE_BYTES);
    }
    await writer.close();
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('in-place')),
      ['in-place.checkpoint.json'],
      'no temporary file is left beside it',
    );
  });

  it('keeps the file one JSON object: spaces after it and a newline last', async () => {
    const file = path.join(dir, 'shape.checkpoint.json');
    const writer = openCheckpointWriter(file);
    await writer.write(checkpoint(1));
    await writer.write(checkpoint(2));
    await writer.close();
    const text = await readFile(file, 'utf8');
    assert.equal(text.length, CHECKPOINT_FILE_BYTES);
    assert.match(text, /^\{"seq":2,"hash":"a{64}","ts":"2026-12-05T10:00:02\.000Z"\} +\n$/);
    assert.deepEqual(JSON.parse(text), checkpoint(2));
  });

  it('replaces a checkpoint left by a writer before it (unpadded) and then writes in place', async () => {
    const file = path.join(dir, 'old.checkpoint.json');
    await writeCheckpoint(file, checkpoint(3));
    const old = await stat(file);
    const writer = openCheckpointWriter(file);
    await writer.write(checkpoint(4));
    const replaced = await stat(file);
    assert.notEqual(replaced.ino, old.ino, 'the first checkpoint of a writer replaces the file atomically');
    assert.equal(replaced.size, CHECKPOINT_FILE_BYTES);
    await writer.write(checkpoint(5));
    assert.equal((await stat(file)).ino, replaced.ino);
    assert.deepEqual(await readCheckpoint(file), checkpoint(5));
    await writer.close();
  });

  it('a file cut short while the writer holds it is written whole again by the next checkpoint', async () => {
    const file = path.join(dir, 'cut.checkpoint.json');
    const writer = openCheckpointWriter(file);
    await writer.write(checkpoint(10));
    await writeFile(file, '');
    await writer.write(checkpoint(11));
    assert.deepEqual(await readCheckpoint(file), checkpoint(11));
    assert.equal((await stat(file)).size, CHECKPOINT_FILE_BYTES);
    await writer.close();
  });

  it('after close, the next checkpoint opens the file afresh (a file moved away meanwhile is recreated)', async () => {
    const file = path.join(dir, 'moved.checkpoint.json');
    const writer = openCheckpointWriter(file);
    await writer.write(checkpoint(20));
    await writer.close();
    await rename(file, `${file}.moved`);
    await writer.write(checkpoint(21));
    assert.deepEqual(await readCheckpoint(file), checkpoint(21));
    assert.deepEqual(await readCheckpoint(`${file}.moved`), checkpoint(20));
    await writer.close();
  });

  it('a checkpoint too long to keep in place is written whole (and the file is replaced again next time)', async () => {
    const file = path.join(dir, 'long.checkpoint.json');
    const writer = openCheckpointWriter(file);
    await writer.write(checkpoint(30));
    const long = { seq: 31, hash: HASH_A, ts: 'x'.repeat(CHECKPOINT_FILE_BYTES) };
    await writer.write(long);
    assert.deepEqual(await readCheckpoint(file), long);
    const replaced = await stat(file);
    await writer.write(checkpoint(32));
    assert.deepEqual(await readCheckpoint(file), checkpoint(32));
    assert.notEqual((await stat(file)).ino, replaced.ino);
    await writer.close();
  });
});

describe('reading a checkpoint that may be written meanwhile', () => {
  /** A reader that gives the texts in order (the last one from then on), counting its reads. */
  function scripted(texts: readonly (string | undefined)[]) {
    let reads = 0;
    const read = async (): Promise<string | undefined> => texts[Math.min(reads++, texts.length - 1)];
    return { read, reads: () => reads };
  }

  it('takes the text once two reads in a row agree', async () => {
    const torn = scripted(['{"seq":12,"hash":"bbb', '{"seq":13,"hash":"bbb"}', '{"seq":13,"hash":"bbb"}']);
    assert.equal(await readStably(torn.read), '{"seq":13,"hash":"bbb"}');
    assert.equal(torn.reads(), 3);
    const steady = scripted(['{"seq":1}']);
    assert.equal(await readStably(steady.read), '{"seq":1}');
    assert.equal(steady.reads(), 2);
  });

  it('gives up after the tries and takes the last read; a missing file reads as missing', async () => {
    const changing = scripted(['a', 'b', 'c', 'd', 'e', 'f']);
    assert.equal(await readStably(changing.read, 5), 'e');
    assert.equal(changing.reads(), 5);
    const missing = scripted([undefined]);
    assert.equal(await readStably(missing.read), undefined);
  });
});
