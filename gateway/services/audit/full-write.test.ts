import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFully, writeFullyNow } from './full-write.js';

/** A handle over a real one that takes at most `chunk` bytes a write, recording where each write went. */
function shortWrites(real: FileHandle, chunk: number, positions: (number | null)[]): FileHandle {
  return {
    write: (buffer: Buffer, offset: number, length: number, position: number | null) => {
      positions.push(position);
      return real.write(buffer, offset, Math.min(length, chunk), position);
    },
  } as unknown as FileHandle;
}

/**
 * Runs `write` against a handle, opened with `flags` on `file` (which first holds `initial`), that takes at
 * most `chunk` bytes a write; returns the position each write was asked for.
 */
async function throughShortWrites(
  file: string,
  initial: string,
  flags: string,
  chunk: number,
  write: (handle: FileHandle) => Promise<void>,
): Promise<(number | null)[]> {
  await writeFile(file, initial);
  const handle = await open(file, flags);
  const positions: (number | null)[] = [];
  try {
    await write(shortWrites(handle, chunk, positions));
  } finally {
    await handle.close();
  }
  return positions;
}

describe('writing a whole buffer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-full-write-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('continues a short write from where it stopped, at the position given', async () => {
    const file = path.join(dir, 'positioned');
    const positions = await throughShortWrites(file, 'xxxxxxxxxxxxxxxx', 'r+', 3, (handle) =>
      writeFully(handle, Buffer.from('abcdefgh'), 4),
    );
    assert.equal(readFileSync(file, 'utf8'), 'xxxxabcdefghxxxx');
    assert.deepEqual(positions, [4, 7, 10]);
  });

  it("writes at the descriptor's own offset when no position is given (appending)", async () => {
    const file = path.join(dir, 'appended');
    const positions = await throughShortWrites(file, 'head:', 'a', 4, (handle) =>
      writeFully(handle, Buffer.from('0123456789')),
    );
    assert.equal(readFileSync(file, 'utf8'), 'head:0123456789');
    assert.deepEqual(positions, [null, null, null]);
    const fd = openSync(file, 'a');
    try {
      writeFullyNow(fd, Buffer.from('!'));
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(file, 'utf8'), 'head:0123456789!');
  });

  it('fails with EIO instead of spinning when a write takes nothing', async () => {
    const stuck = { write: async () => ({ bytesWritten: 0 }) } as unknown as FileHandle;
    await assert.rejects(writeFully(stuck, Buffer.from('abc'), 0), { code: 'EIO' });
  });
});
