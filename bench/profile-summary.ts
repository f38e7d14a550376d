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
import { readCommandLine } from './lib/command.js';
import { BenchUsageError, positiveInteger } from './lib/options.js';
import { formatProfile, functionNamesOf, summarizeProfile, type CpuProfile } from './lib/cpu-profile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: node --import tsx bench/profile-summary.ts [--top 25] [--functions NAME,...] FILE.cpuprofile [...]

The top frames by self time, and the same time by owner, of each .cpuprofile file (node --cpu-prof, or
bench/run.ts --profile); --functions adds the time of the samples with each function named on the stack.`;

const { values, positionals, top } = readCommandLine(USAGE, (args) => {
  const parsed = parseArgs({
    args,
    options: { top: { type: 'string', default: '25' }, functions: { type: 'string', default: '' } },
    allowPositionals: true,
  });
  if (parsed.positionals.length === 0) throw new BenchUsageError('no profile given (FILE.cpuprofile)');
  return { ...parsed, top: positiveInteger('top', parsed.values.top) };
});
const inclusive = functionNamesOf(values.functions);
for (const file of positionals) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(
    `${formatProfile(summarizeProfile(profile, { top, root: ROOT, inclusive }), path.basename(file))}\n`,
  );
}
