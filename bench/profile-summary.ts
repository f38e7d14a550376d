/**
 * Print the top frames (self time) of one or more `.cpuprofile` files, as written by `node --cpu-prof`
 * or by `bench/run.ts --profile`.
 *
 *   node --import tsx bench/profile-summary.ts [--top 25] FILE.cpuprofile [...]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProfile, summarizeProfile, type CpuProfile } from './lib/cpu-profile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
});
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1) throw new RangeError('--top must be a positive integer');
if (positionals.length === 0) {
  process.stderr.write('usage: profile-summary.ts [--top N] FILE.cpuprofile [...]\n');
  process.exit(2);
}
for (const file of positionals) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${formatProfile(summarizeProfile(profile, { top, root: ROOT }), path.basename(file))}\n`);
}
