/**
 * `npm run bench:cold-start`: how long the `portcullis` command takes to start, in fresh processes, run
 * several times.
 *
 *   node --import tsx bench/cold-start.ts [--runs 10] [--bin bin/portcullis.js] [-- <arguments>]
 *   node --import tsx bench/cold-start.ts --ready [--runs 5] [--bin bin/portcullis.js] [-- <arguments>]
 *
 * Without `--ready`: the wall time of `portcullis --help` (or the given arguments) until the process exits.
 * A run that exits non-zero is an error: a fast failure is not a fast start.
 *
 * With `--ready`: the wall time from spawn until the gateway prints `Portcullis listening on` (it serves
 * requests from then on), by default for `portcullis demo` on free ports with a fresh state folder; the
 * process is then stopped (SIGTERM). A process that exits before it is ready is an error.
 *
 * Prints the median, minimum and maximum in milliseconds, of the wall time and of the CPU time (user +
 * system) the process used, which a busy machine disturbs far less than wall time. The child runs on the
 * same Node binary as this script (run it with node_modules/.bin/node to measure the pinned Node).
 *
 * The command keeps Node's compile cache (docs/operations.md, "Compile cache"). Each invocation of this
 * script gives its runs a fresh cache folder (NODE_COMPILE_CACHE): one more run first, reported on its own,
 * starts with the cache empty, as the first start after an install or upgrade does, and fills it for the
 * measured runs. With NODE_DISABLE_COMPILE_CACHE=1 in the environment every run compiles everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nodeFlagsOf } from '../test/fixtures/gateway-process.js';
import { readCommandLine } from './lib/command.js';
import { positiveInteger } from './lib/options.js';
import { processCpuMicros } from './lib/thread-cpu.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const READY = /Portcullis listening on /;

const USAGE = `usage: node --import tsx bench/cold-start.ts [--runs 10] [--bin bin/portcullis.js] [-- <arguments>]
       node --import tsx bench/cold-start.ts --ready [--runs 5] [--bin bin/portcullis.js] [-- <arguments>]

How long the portcullis command takes to start, in fresh processes: without --ready, the time until
\`portcullis --help\` (or the given arguments) exits; with --ready, until \`portcullis demo\` (or the given
arguments) serves. Arguments after -- go to portcullis (\`-- --help\` measures its --help).`;

const { values, positionals, runs } = readCommandLine(USAGE, (args) => {
  const parsed = parseArgs({
    args,
    options: {
      runs: { type: 'string' },
      bin: { type: 'string', default: path.join(ROOT, 'bin', 'portcullis.js') },
      ready: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  return { ...parsed, runs: positiveInteger('runs', parsed.values.runs ?? (parsed.values.ready ? '5' : '10')) };
});

/** A child's user + system CPU time so far, in ms, from /proc. */
async function cpuMsOf(pid: number): Promise<number> {
  const micros = await processCpuMicros(pid);
  if (micros === undefined) throw new Error(`the CPU time of process ${pid} cannot be read from /proc`);
  return micros / 1000;
}

/** Written by the child on exit: its own CPU time (a one-line preload). */
const CPU_ON_EXIT = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\ncold-start-cpu-us:'+(u.user+u.system)+'\\n')})`;

const compileCache = await mkdtemp(path.join(tmpdir(), 'portcullis-cold-cache-'));
const childEnv = { ...process.env, NODE_COMPILE_CACHE: compileCache };
const cacheDisabled = process.env['NODE_DISABLE_COMPILE_CACHE'] !== undefined;

/** Spawn, resolve with the milliseconds (wall, CPU) until the ready line, then stop the process. */
async function timeUntilReady(args: readonly string[]): Promise<{ wall: number; cpu: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeFlagsOf(values.bin), values.bin, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    return await new Promise<{ wall: number; cpu: number }>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (!READY.test(stdout)) return;
        const wall = Number(process.hrtime.bigint() - started) / 1e6;
        cpuMsOf(child.pid!).then((cpu) => resolve({ wall, cpu }), reject);
      });
      void exited.then((code) => reject(new Error(`exited with ${String(code)} before it was ready: ${stderr}`)));
    });
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

const times: number[] = [];
const cpuTimes: number[] = [];
/** The run before the measured ones, which starts with the compile cache empty. */
let firstRun: { wall: number; cpu?: number } | undefined;
let args: string[];
if (values.ready) {
  args = positionals.length > 0 ? positionals : ['demo', '--port', '0', '--api-port', '0', '--state-dir'];
  for (let i = 0; i <= runs; i++) {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'portcullis-cold-'));
    try {
      const { wall, cpu } = await timeUntilReady(positionals.length > 0 ? args : [...args, stateDir]);
      if (i === 0) firstRun = { wall, cpu };
      else {
        times.push(wall);
        cpuTimes.push(cpu);
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  }
} else {
  args = positionals.length > 0 ? positionals : ['--help'];
  for (let i = 0; i <= runs; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(
      process.execPath,
      [...nodeFlagsOf(values.bin), '--import', CPU_ON_EXIT, values.bin, ...args],
      { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv },
    );
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) {
      process.stderr.write(`run ${i + 1} exited with ${String(result.status)}: ${result.stderr.toString()}\n`);
      process.exit(1);
    }
    const cpuUs = /cold-start-cpu-us:(\d+)/.exec(result.stderr.toString())?.[1];
    const cpu = cpuUs !== undefined ? Number(cpuUs) / 1000 : undefined;
    if (i === 0) firstRun = { wall: elapsed, ...(cpu !== undefined ? { cpu } : {}) };
    else {
      times.push(elapsed);
      if (cpu !== undefined) cpuTimes.push(cpu);
    }
  }
}
const format = (ms: number): string => `${ms.toFixed(0)} ms`;
function summary(values: number[]): string {
  values.sort((a, b) => a - b);
  const middle = Math.floor(values.length / 2);
  const median = values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
  return `median ${format(median)}, min ${format(values[0]!)}, max ${format(values.at(-1)!)}`;
}
await rm(compileCache, { recursive: true, force: true });
const cache = cacheDisabled ? 'compile cache disabled' : 'compile cache filled by the run before';
process.stdout.write(
  `${path.relative(ROOT, values.bin)} ${args.join(' ')}${values.ready ? ' (until ready)' : ''} (node ${process.version}, ${runs} runs, ${cache}):\n` +
    `  wall ${summary(times)}\n` +
    (cpuTimes.length > 0 ? `  CPU  ${summary(cpuTimes)}\n` : '') +
    (firstRun !== undefined && !cacheDisabled
      ? `  first run, compile cache empty: wall ${format(firstRun.wall)}` +
        (firstRun.cpu !== undefined ? `, CPU ${format(firstRun.cpu)}` : '') +
        '\n'
      : ''),
);
