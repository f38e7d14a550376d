/**
 * Checkpoints: the chain head `{ seq, hash, ts }` kept in a separate small file. A hash chain on its own
 * cannot show that records were cut off its end; comparing the log against the last checkpoint can. For
 * the strongest guarantee, ship checkpoints somewhere the log's writer cannot rewrite (another host,
 * object storage with retention), since whoever can rewrite both files can rewrite history.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

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
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o640);
  try {
    await handle.writeFile(`${JSON.stringify(checkpoint)}\n`, 'utf8');
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

/** The checkpoint, or undefined when the file does not exist. Throws CheckpointFormatError when it is not one. */
export async function readCheckpoint(file: string): Promise<AuditCheckpoint | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
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
