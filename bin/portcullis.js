#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=100
// The `portcullis` command: the compiled JavaScript in dist/ (`npm run build` creates it; a package has it).
//
// The Node flags above are the gateway's runtime tuning (docs/operations.md, "Node runtime flags"): V8 sizes
// the young generation from the machine's memory, and a busy gateway grew it to 128 MB of short-lived
// garbage; capped at 16 MB, idle memory stays low at the cost of about 8% peak throughput. V8 also let the old
// generation grow up to four times what survived a full collection (405 to 430 MB of RSS under steady load);
// fixed at twice, about 285 MB, for about 3% of peak throughput. `npm start` and the container image pass the
// same flags; `node bin/portcullis.js` does not.
import { access } from 'node:fs/promises';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';

// Node's compile cache (docs/operations.md, "Compile cache"): the bytecode V8 compiles for the modules the
// command loads is kept on disk and reused by the next start, which then skips most of the compiling. It
// lives in the user's own cache folder, never in a folder other users can write to, since whoever can write
// the cache can change the code the next start runs. NODE_COMPILE_CACHE=DIR picks another folder (Node enables
// it itself then) and NODE_DISABLE_COMPILE_CACHE=1 turns it off; a folder that cannot be written only costs
// the speed-up.
if (process.env.NODE_COMPILE_CACHE === undefined) nodeModule.enableCompileCache?.(defaultCompileCacheDir());

function defaultCompileCacheDir() {
  const cacheHome = process.env.XDG_CACHE_HOME;
  const base = cacheHome !== undefined && path.isAbsolute(cacheHome) ? cacheHome : path.join(homedir(), '.cache');
  return path.join(base, 'portcullis', 'compile-cache');
}

const main = new URL('../dist/gateway/edges/cli/main.js', import.meta.url);
try {
  await access(main);
} catch {
  process.stderr.write(
    'portcullis: dist/ is missing. In a source checkout run `npm run build` (or `npm install`, which builds),\n' +
      'or run the sources directly with `npm run dev -- <command>`.\n',
  );
  process.exit(2);
}
await import(main.href);
