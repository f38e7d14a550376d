/** Audit logs in tests: fresh log paths, and a log's records. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

/**
 * Fresh audit log paths for one test file: a temporary folder made before its tests and removed after
 * them; every call names a new file in it (the file itself is not created).
 */
export function freshAuditFiles(prefix: string): () => string {
  let dir: string | undefined;
  let counter = 0;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('freshAuditFiles: a file was asked for outside the tests');
    return path.join(dir, `audit-${++counter}.jsonl`);
  };
}

/** The records of a JSONL audit log, in file order (none when the file does not exist). */
export async function readAudit(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
