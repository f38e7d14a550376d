// `npm run build`: compiles the runtime sources to dist/ (JavaScript + type declarations) and copies the
// files they read at run time next to them, so dist/ runs on plain Node without tsx:
//   - the operator console (gateway/edges/operator/console/*),
//   - JSON schemas (gateway/config/portcullis.schema.json, policies/*.schema.json),
//   - the example configurations and policy packs (examples/**/*.yaml, policies/examples/*.yaml).
// dist/ is emptied first, so nothing from an earlier build (or a demo run) survives into a package.
//   node scripts/build.js
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
/** Source folders compiled into dist/; must match `include` in tsconfig.build.json. */
const SOURCE_DIRS = ['gateway', 'connectors', 'policies', 'examples'];
/** Run-time assets: what the compiled code reads from beside itself (TypeScript is compiled, not copied). */
const ASSET = /\.(?:json|yaml|html|css|js)$/;

function copyAssets(dir) {
  let copied = 0;
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    // Dot-directories (`.portcullis` state, editor folders) are never part of a build.
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      copied += copyAssets(relative);
    } else if (entry.isFile() && ASSET.test(entry.name)) {
      mkdirSync(path.join(DIST, dir), { recursive: true });
      copyFileSync(path.join(ROOT, relative), path.join(DIST, relative));
      copied++;
    }
  }
  return copied;
}

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (compiled.status !== 0) {
  process.stderr.write('build: tsc failed\n');
  process.exit(compiled.status ?? 1);
}
const assets = SOURCE_DIRS.reduce((sum, dir) => sum + copyAssets(dir), 0);
process.stdout.write(`build: dist/ compiled, ${assets} asset files copied\n`);
