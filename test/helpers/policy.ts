import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

/** Write a policy document to a fresh temp file and return its path. */
export async function writePolicy(document: Record<string, unknown>, name = 'policy.yaml'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-policy-'));
  const file = path.join(dir, name);
  await writeFile(file, stringify(document));
  return file;
}
