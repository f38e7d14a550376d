/**
 * Checkpoints: the chain head `{ seq, hash, ts }` kept in a separate small file. A hash chain on its own
 * cannot show that records were cut off its end; comparing the log against the last checkpoint can. For
 * the strongest guarantee, ship checkpoints somewhere the log's writer cannot rewrite (another host,
 * object storage with retention), since whoever can rewrite both files can rewrite history.
 *
 * The file is one JSON object (readers parse it with `JSON.parse`). A writer that keeps it current
 * (`openCheckpointWriter`) pads it to a fixed size, so that after its first checkpoint it can overwrite the
 * file in place with one synced write instead of replacing it; `readCheckpoint` therefore reads the file
 * until two reads in a row agree, so that it never takes a read that met a write halfway.
 */
import { constants } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFully } from './full-write.js';

export const AuditCheckpointSchema = z
  .object({
    seq: z.number().int().min(0),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    ts: z.string(),
  })
  .strict();

export type AuditCheckpoint = z.infer<typeof AuditCheckpointSchema>;

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
  readonly code = 'AUDIT_CHECKPOINT_INVALID';
}

/**
 * Write the checkpoint atomically: a reader sees the old or the new file, never half of one. The temp file
 * is fsync'd before the rename, and the directory after it, so the rename itself survives a crash.
 */
export async function writeCheckpoint(file: string, checkpoint: AuditCheckpoint): Promise<void> {
  await replaceFile(file, `${JSON.stringify(checkpoint)}\n`);
}

/** Writes `text` as the whole of `file` atomically (temp file synced, renamed, directory synced). */
async function replaceFile(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o640);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(path.dirname(file));
}

/**
 * The size of a checkpoint file a `CheckpointWriter` keeps: the JSON object, spaces, and a newline. A
 * checkpoint's JSON is at most about 140 bytes; the whole file fits in one 512-byte disk sector.
 */
export const CHECKPOINT_FILE_BYTES = 256;

/** Keeps one checkpoint file current. One checkpoint at a time: `write` is not called again before it settles. */
export interface CheckpointWriter {
  write(checkpoint: AuditCheckpoint): Promise<void>;
  /** Closes the file it keeps open (it writes nothing). */
  close(): Promise<void>;
}

/** Overwriting in place, synced by every write where the platform has O_DSYNC (elsewhere an fdatasync follows). */
const IN_PLACE_FLAGS = constants.O_WRONLY | (constants.O_DSYNC ?? 0);

/**
 * A writer that replaces the file atomically the first time (as `writeCheckpoint` does, padded to
 * `CHECKPOINT_FILE_BYTES`) and from then on overwrites it in place: one write of the same size at offset
 * 0 through a descriptor opened with O_DSYNC (elsewhere a write and an fdatasync), durable when it
 * returns, where a replacement is eight file operations with two syncs of their own. The size never
 * changes, so the write is the file's data alone.
 *
 * The contract of an in-place overwrite, as with a database's control file: the whole file sits in one
 * disk sector, which a disk writes whole or not at all, so a crash leaves the old checkpoint or the new
 * one. A disk that tore a sector would leave a file that is not a checkpoint, and the sink refuses to start
 * on it (AUDIT_CHAIN_CORRUPT) rather than trust it. A write that fails closes the descriptor; the next
 * checkpoint replaces the file again. The file is held open: one moved or replaced while the writer runs
 * is written again only from the writer's next open (a restart, a rotation).
 */
export function openCheckpointWriter(file: string): CheckpointWriter {
  let kept: FileHandle | undefined;
  const release = async (): Promise<void> => {
    const handle = kept;
    kept = undefined;
    await handle?.close();
  };
  return {
    async write(checkpoint) {
      const text = paddedCheckpoint(checkpoint);
      if (text === undefined) {
        // Not reachable for a checkpoint the sink makes; one this long is replaced whole, never kept in place.
        await release();
        await writeCheckpoint(file, checkpoint);
        return;
      }
      if (kept === undefined) {
        await replaceFile(file, text);
        kept = await open(file, IN_PLACE_FLAGS);
        return;
      }
      try {
        await writeFully(kept, Buffer.from(text, 'utf8'), 0);
        if (constants.O_DSYNC === undefined) await kept.datasync();
      } catch (error) {
        await release().catch(() => undefined);
        throw error;
      }
    },
    close: release,
  };
}

/** The checkpoint's JSON padded with spaces to `CHECKPOINT_FILE_BYTES`, newline last; undefined if longer. */
function paddedCheckpoint(checkpoint: AuditCheckpoint): string | undefined {
  const json = JSON.stringify(checkpoint);
  const length = Buffer.byteLength(json, 'utf8');
  if (length >= CHECKPOINT_FILE_BYTES) return undefined;
  return `${json}${' '.repeat(CHECKPOINT_FILE_BYTES - length - 1)}\n`;
}

/** The checkpoint, or undefined when the file does not exist. Throws CheckpointFormatError when it is not one. */
export async function readCheckpoint(file: string): Promise<AuditCheckpoint | undefined> {
  const text = await readStably(() => readText(file));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CheckpointFormatError(`checkpoint ${file} is not valid JSON`);
  }
  const result = AuditCheckpointSchema.safeParse(parsed);
  if (!result.success) throw new CheckpointFormatError(`checkpoint ${file} is not a { seq, hash, ts } object`);
  return result.data;
}

/** Reads before giving up on a file that changes between two reads. */
const STABLE_READ_TRIES = 5;

/** The file's text, or undefined when it does not exist. */
async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * What `read` gives once two reads in a row agree. A checkpoint kept by a running gateway is overwritten in
 * place, and a read that met a write halfway could see part of each checkpoint; two reads in a row that
 * agree did not. A file that keeps changing is taken as read the last time (`tries` reads in all): whatever
 * it holds is checked like any checkpoint.
 */
export async function readStably<T>(read: () => Promise<T>, tries = STABLE_READ_TRIES): Promise<T> {
  let last = await read();
  for (let done = 1; done < tries; done++) {
    const next = await read();
    if (next === last) return next;
    last = next;
  }
  return last;
}

/** fsync a directory so a file created or renamed in it survives a crash. Best effort. */
export async function syncDirectory(dir: string): Promise<void> {
  // Not every platform lets a directory be opened for fsync (Windows); the rename is still atomic there.
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
