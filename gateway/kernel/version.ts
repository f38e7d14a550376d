/**
 * The gateway's version, read once from the package's own package.json (the one place it is written).
 * Found by walking up from this module, so it works from the sources and from the compiled `dist/`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'portcullis' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json of portcullis not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const VERSION: string = readVersion();
