/**
 * The files of a rotated audit log. The active file keeps the configured name (`audit.jsonl`); each
 * rotated file is named after it plus the sequence number of its first record, zero-padded so that name
 * order is chain order (`audit.jsonl.000000000001`, `audit.jsonl.000000001001`, ...). The set, in order,
 * is one hash chain: the first record of each file links to the last record of the file before it.
 */
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { EMPTY_HEAD, isChainedRecord, type AuditChainHead } from './chain.js';
import { readFileTail } from './tail.js';
import type { AuditRecord } from './types.js';

const SEQ_DIGITS = 12;

export function rotatedSegmentName(file: string, firstSeq: number): string {
  return `${file}.${String(firstSeq).padStart(SEQ_DIGITS, '0')}`;
}

/** Rotated files of `file`, oldest first (the active file itself is not included). */
export async function listRotatedSegments(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const pattern = new RegExp(`^${escapeRegExp(base)}\\.(\\d{${SEQ_DIGITS}})$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

/**
 * Every file of the log in chain order: the rotated files, then the active file when it exists. A log
 * that was never rotated is just `[file]`.
 */
export async function listAuditFiles(file: string): Promise<string[]> {
  const rotated = await listRotatedSegments(file);
  const active = await exists(file);
  return active || rotated.length === 0 ? [...rotated, file] : rotated;
}

/**
 * The head a new active file continues: the last record of the newest rotated file, or the genesis when
 * there is none. Returns undefined when that file does not end with a complete record (the sink then
 * refuses to start rather than fork the chain).
 */
export async function headOfRotated(file: string): Promise<AuditChainHead | undefined> {
  const rotated = await listRotatedSegments(file);
  const newest = rotated[rotated.length - 1];
  if (newest === undefined) return EMPTY_HEAD;
  const tail = await readFileTail(newest, 1);
  const last = tail.lines[tail.lines.length - 1];
  if (!tail.endsWithNewline || last === undefined) return undefined;
  const record = parseRecord(last);
  return record === undefined ? undefined : { seq: record.seq, hash: record.hash };
}

/** The first record of a file, or undefined when it is empty or does not start with a record. */
export async function firstRecord(file: string): Promise<AuditRecord | undefined> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let position = 0;
    for (;;) {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return undefined;
      const chunk = buffer.subarray(0, bytesRead);
      const newline = chunk.indexOf(0x0a);
      if (newline >= 0) {
        chunks.push(chunk.subarray(0, newline));
        return parseRecord(Buffer.concat(chunks).toString('utf8'));
      }
      chunks.push(chunk);
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await (await open(file, 'r')).close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function parseRecord(line: string): AuditRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isChainedRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
