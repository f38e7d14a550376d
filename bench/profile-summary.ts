/**
 * Print the top frames (self time) of one or more `.cpuprofile` files, as written by `node --cpu-prof`
 * or by `bench/run.ts --profile`.
 *
 *   node --import tsx bench/profile-summary.ts [--top 25] [--functions NAME,...] FILE.cpuprofile [...]
 *   node --import tsx bench/profile-summary.ts --compare [--top 25] [--before-root DIR]
 *                                              BEFORE.cpuprofile AFTER.cpuprofile
 *
 * `--functions` adds, for each function named, the time of the samples with it on the stack (its own time
 * and that of what it calls). `--compare` ranks the frames and owners of two profiles of the same work by how
 * much their self time changed from the first to the second; `--before-root` names the checkout the first
 * ran from when it is another one (a baseline build), so that the same function has the same label in both.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCommandLine } from './lib/command.js';
import { BenchUsageError, positiveInteger } from './lib/options.js';
import {
  compareProfiles,
  formatComparison,
  formatProfile,
  functionNamesOf,
  summarizeProfile,
  type CpuProfile,
} from './lib/cpu-profile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: node --import tsx bench/profile-summary.ts [--top 25] [--functions NAME,...] FILE.cpuprofile [...]
       node --import tsx bench/profile-summary.ts --compare [--top 25] [--before-root DIR]
                                                  BEFORE.cpuprofile AFTER.cpuprofile

The top frames by self time, and the same time by owner, of each .cpuprofile file (node --cpu-prof, or
bench/run.ts --profile); --functions adds the time of the samples with each function named on the stack.
--compare ranks the frames and owners of two profiles of the same work by the change in their self time;
--before-root DIR: the checkout the first profile's process ran from, when not this one.`;

const { values, positionals, top } = readCommandLine(USAGE, (args) => {
  const parsed = parseArgs({
    args,
    options: {
      top: { type: 'string', default: '25' },
      functions: { type: 'string', default: '' },
      compare: { type: 'boolean', default: false },
      'before-root': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (parsed.positionals.length === 0) throw new BenchUsageError('no profile given (FILE.cpuprofile)');
  if (parsed.values.compare && parsed.positionals.length !== 2)
    throw new BenchUsageError('--compare takes two profiles: BEFORE.cpuprofile AFTER.cpuprofile');
  if (parsed.values.compare && parsed.values.functions !== '')
    throw new BenchUsageError('--functions does not go with --compare');
  if (!parsed.values.compare && parsed.values['before-root'] !== undefined)
    throw new BenchUsageError('--before-root goes with --compare');
  return { ...parsed, top: positiveInteger('top', parsed.values.top) };
});
const readProfile = async (file: string): Promise<CpuProfile> => JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
if (values.compare) {
  const [before = '', after = ''] = positionals;
  const beforeRoot = values['before-root'] !== undefined ? path.resolve(values['before-root']) : ROOT;
  const comparison = compareProfiles(await readProfile(before), await readProfile(after), {
    top,
    root: ROOT,
    beforeRoot,
  });
  process.stdout.write(`${formatComparison(comparison, before, after)}\n`);
} else {
  const inclusive = functionNamesOf(values.functions);
  for (const file of positionals) {
    const profile = await readProfile(file);
    process.stdout.write(
      `${formatProfile(summarizeProfile(profile, { top, root: ROOT, inclusive }), path.basename(file))}\n`,
    );
  }
}
