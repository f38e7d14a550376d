/**
 * Print the top frames (self time) of one or more `.cpuprofile` files, as written by `node --cpu-prof`
 * or by `bench/run.ts --profile`.
 *
 *   node --import tsx bench/profile-summary.ts [--top 25] [--functions NAME,...] FILE.cpuprofile [...]
 *
 * `--functions` adds, for each function named, the time of the samples with it on the stack (its own time
 * and that of what it calls).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProfile, functionNamesOf, summarizeProfile, type CpuProfile } from './lib/cpu-profile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, functions: { type: 'string', default: '' } },
  allowPositionals: true,
});
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1) throw new RangeError('--top must be a positive integer');
if (positionals.length === 0) {
  process.stderr.write('usage: profile-summary.ts [--top N] [--functions NAME,...] FILE.cpuprofile [...]\n');
  process.exit(2);
}
const inclusive = functionNamesOf(values.functions);
for (const file of positionals) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(
    `${formatProfile(summarizeProfile(profile, { top, root: ROOT, inclusive }), path.basename(file))}\n`,
  );
}
