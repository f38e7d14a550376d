/**
 * Writing a whole buffer to a file. A write may take fewer bytes than it was given (a disk filling up); the
 * rest is written from where it stopped, so the buffer is either all written or the write fails.
 */
import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * All of `bytes` through `handle`, in libuv's thread pool: at `position` on, or at the descriptor's own
 * offset (the end, for one opened to append) when it is null.
 */
export async function writeFully(handle: FileHandle, bytes: Buffer, position: number | null = null): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    const at = position === null ? null : position + offset;
    offset += progress((await handle.write(bytes, offset, bytes.length - offset, at)).bytesWritten);
  }
}

/** All of `bytes` to `fd` at its own offset, on the calling thread. */
export function writeFullyNow(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length;) {
    offset += progress(writeSync(fd, bytes, offset, bytes.length - offset));
  }
}

/** Bytes a write took. A regular file never takes nothing without an error; refuse to spin if one did. */
function progress(bytesWritten: number): number {
  if (bytesWritten <= 0) throw Object.assign(new Error('file write made no progress'), { code: 'EIO' });
  return bytesWritten;
}
