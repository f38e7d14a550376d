#!/usr/bin/env node
// The `portcullis` command: the compiled JavaScript in dist/ (`npm run build` creates it; a package has it).
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
