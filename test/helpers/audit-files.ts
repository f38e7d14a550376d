/**
 * Fresh audit log paths for one test file: a temporary folder made before its tests and removed after
 * them; every call names a new file in it (the file itself is not created).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

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
