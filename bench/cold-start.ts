/**
 * `npm run bench:cold-start`: how long the `portcullis` command takes to start, as the wall time of
 * `portcullis --help` (or any other arguments) in a fresh process, run several times.
 *
 *   node --import tsx bench/cold-start.ts [--runs 10] [--bin bin/portcullis.js] [-- <arguments>]
 *
 * Prints the median, minimum and maximum in milliseconds. The child runs on the same Node binary as this
 * script (run it with node_modules/.bin/node to measure the pinned Node). A run that exits non-zero is an
 * error: a fast failure is not a fast start.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    bin: { type: 'string', default: path.join(ROOT, 'bin', 'portcullis.js') },
  },
  allowPositionals: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new RangeError('--runs must be a positive integer');
const args = positionals.length > 0 ? positionals : ['--help'];

const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [values.bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    process.stderr.write(`run ${i + 1} exited with ${String(result.status)}: ${result.stderr.toString()}\n`);
    process.exit(1);
  }
  times.push(elapsed);
}
times.sort((a, b) => a - b);
const middle = Math.floor(times.length / 2);
const median = times.length % 2 === 1 ? times[middle]! : (times[middle - 1]! + times[middle]!) / 2;
const format = (ms: number): string => `${ms.toFixed(0)} ms`;
process.stdout.write(
  `${path.relative(ROOT, values.bin)} ${args.join(' ')} (node ${process.version}, ${runs} runs): ` +
    `median ${format(median)}, min ${format(times[0]!)}, max ${format(times.at(-1)!)}\n`,
);
