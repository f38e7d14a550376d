/**
 * The benchmark measures the gateway as installed users run it: the compiled command (bin/portcullis.js over
 * dist/), not the sources through tsx. Before a run, dist/ is rebuilt when any source file is newer than it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Folders compiled into dist/ (as in scripts/build.js). */
const SOURCE_DIRS = ['gateway', 'connectors', 'policies', 'examples'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.isFile()) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Is dist/ missing or older than a source file? */
export function distIsStale(root: string): boolean {
  let built: number;
  try {
    built = statSync(path.join(root, 'dist', 'gateway', 'edges', 'cli', 'main.js')).mtimeMs;
  } catch {
    return true;
  }
  return SOURCE_DIRS.some((dir) => newestMtime(path.join(root, dir)) > built);
}

/** Rebuild dist/ (`node scripts/build.js`) when it is stale; throws when the build fails. */
export function ensureCompiled(root: string, log: (line: string) => void): void {
  if (!distIsStale(root)) return;
  log('[bench] dist/ is older than the sources: building (node scripts/build.js)');
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.js')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`build failed (exit ${String(result.status ?? result.signal)})`);
}
