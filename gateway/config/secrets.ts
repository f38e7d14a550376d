/**
 * Resolve secret references (`env:NAME`, `file:PATH`) into Secrets. The environment is passed in (only the
 * composition root reads process.env). Errors name the reference, never the value.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Secret } from '../kernel/index.js';

export class SecretRefError extends Error {
  override readonly name = 'SecretRefError';
  readonly code = 'SECRET_UNRESOLVED';
}

export type Environment = Readonly<Record<string, string | undefined>>;

export async function resolveSecretRef(ref: string, options: { env: Environment; baseDir: string }): Promise<Secret> {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = options.env[name];
    if (value === undefined || value === '')
      throw new SecretRefError(`secret ${ref}: environment variable ${name} is not set`);
    return new Secret(value);
  }
  if (ref.startsWith('file:')) {
    const file = path.resolve(options.baseDir, ref.slice(5));
    try {
      const value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      if (value === '') throw new SecretRefError(`secret ${ref}: file is empty`);
      return new Secret(value);
    } catch (error) {
      if (error instanceof SecretRefError) throw error;
      throw new SecretRefError(`secret ${ref}: cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  throw new SecretRefError('secret reference must be env:NAME or file:PATH');
}
