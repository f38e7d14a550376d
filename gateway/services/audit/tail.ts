/**
 * Read the last lines of a (possibly large) JSONL file without reading all of it: chunks are read
 * backwards from the end until enough newlines are found.
 */
import { open, type FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 64 * 1024;

export interface FileTail {
  /** Up to `count` complete lines, oldest first, without their newline. */
  lines: string[];
  /** Whether the file ends with a newline; false for a non-empty file means the last line is torn. */
  endsWithNewline: boolean;
  /** The trailing bytes after the last newline (a torn line), or '' when the file ends with a newline. */
  partial: string;
  size: number;
}

/**
 * The last `count` lines of a file. Stops growing the window at `maxBytes` (then returns what it found)
 * so a file without newlines cannot make this read everything into memory.
 */
export async function readFileTail(
  file: string | FileHandle,
  count: number,
  maxBytes = 64 * 1024 * 1024,
): Promise<FileTail> {
  const handle = typeof file === 'string' ? await open(file, 'r') : file;
  try {
    const { size } = await handle.stat();
    if (size === 0) return { lines: [], endsWithNewline: true, partial: '', size };
    const chunks: Buffer[] = [];
    let start = size;
    let newlines = 0;
    // One newline more than lines wanted marks the start of the earliest line (plus the final one).
    while (start > 0 && newlines <= count && size - start < maxBytes) {
      const length = Math.min(CHUNK_BYTES, start);
      start -= length;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      const chunk = buffer.subarray(0, bytesRead);
      for (const byte of chunk) if (byte === 0x0a) newlines++;
      chunks.unshift(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const endsWithNewline = text.endsWith('\n');
    const pieces = text.split('\n');
    const partial = pieces.pop() ?? '';
    // When the window does not start at byte 0, its first piece is the end of an earlier line: drop it.
    if (start > 0) pieces.shift();
    return { lines: pieces.slice(-count), endsWithNewline, partial, size };
  } finally {
    if (typeof file === 'string') await handle.close();
  }
}
