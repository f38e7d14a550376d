#!/usr/bin/env -S node --max-semi-space-size=16
// The `portcullis` command: the compiled JavaScript in dist/ (`npm run build` creates it; a package has it).
//
// The Node flags above are the gateway's runtime tuning (docs/operations.md, "Node runtime flags"): V8 sizes
// the young generation from the machine's memory, and a busy gateway grew it to 128 MB of short-lived
// garbage; capped at 16 MB, idle memory stays low at the cost of about 8% peak throughput. `npm start` and the
// container image pass the same flags; `node bin/portcullis.js` does not.
import { access } from 'node:fs/promises';

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
