/**
 * Gateway start-up with an OpenAPI connector at real scale: GitHub's full REST description (the
 * `@octokit/openapi` development dependency, about 13 MB of JSON, 1,200 operations), measured as
 * `portcullis start` in a fresh process from spawn to "listening" (wall time, and the CPU time the process
 * used, which a busy machine disturbs less), with its peak resident memory (VmHWM).
 *
 *   node --import tsx bench/openapi-startup-bench.ts [--runs 3]
 *
 * Three configurations, each `--runs` times (the median is reported): no connector (the baseline: process
 * start, TypeScript loading, stores, policy), ten selected GitHub operations, and every GitHub operation.
 * Also part of `npm run bench` as the `openapi-startup` micro-benchmark. Nothing here is a pass/fail check:
 * the figures go in docs/benchmarks.md. Nothing leaves the machine (no request reaches GitHub).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { cliArgs, nodeFlagsOf } from '../test/fixtures/gateway-process.js';
import { GITHUB_OPERATIONS, githubDocumentPath } from '../test/fixtures/github-openapi.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { positiveInteger } from './lib/options.js';
import { processCpuMicros } from './lib/thread-cpu.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The compiled command when `npm run build` has run (what an image runs), else the sources through tsx. */
const BUILT_CLI = path.join(REPO_ROOT, 'dist', 'gateway', 'edges', 'cli', 'main.js');

function commandArgs(...args: string[]): { argv: string[]; runs: 'dist' | 'sources' } {
  return existsSync(BUILT_CLI)
    ? { argv: [BUILT_CLI, ...args], runs: 'dist' }
    : { argv: cliArgs(...args), runs: 'sources' };
}
const READY = /Portcullis listening on http:\/\/\S+\/mcp/;

interface StartupSample {
  startMs: number;
  /** CPU time (user + system) the process used until ready: steadier than wall time on a busy machine. */
  cpuMs: number;
  peakRssMb: number;
}

async function cpuMs(pid: number): Promise<number> {
  const micros = await processCpuMicros(pid);
  if (micros === undefined) throw new Error(`the CPU time of process ${pid} cannot be read from /proc`);
  return Math.round(micros / 1000);
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kb / 1024);
}

async function startOnce(connectors: unknown[]): Promise<StartupSample> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-openapi-bench-'));
  try {
    await writeFile(path.join(dir, 'policy.yaml'), 'version: 1\nname: bench\nrules: []\n');
    const configFile = path.join(dir, 'portcullis.yaml');
    await writeFile(
      configFile,
      stringify({
        listen: { host: '127.0.0.1', port: 0 },
        connectors,
        policy: { files: ['policy.yaml'], watch: false },
        audit: { file: path.join(dir, 'audit.jsonl') },
        credentials: { devKeyDir: path.join(dir, 'keys') },
      }),
    );
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeFlagsOf(), ...commandArgs('start', '--config', configFile).argv], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', HOME: dir },
    });
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const startMs = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start within 120 s:\n${output}`)), 120_000);
        const onData = (chunk: string): void => {
          output += chunk;
          if (READY.test(output)) {
            clearTimeout(timer);
            resolve(performance.now() - started);
          }
        };
        child.stdout.setEncoding('utf8').on('data', onData);
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the gateway exited (${code}) before it was ready:\n${output}`));
        });
      });
      return {
        startMs: Math.round(startMs),
        cpuMs: await cpuMs(child.pid!),
        peakRssMb: await peakRssMb(child.pid!),
      };
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface OpenApiStartupResult {
  runs: number;
  /** What was started: the compiled `dist/` (after `npm run build`) or the sources through tsx. */
  command: 'dist' | 'sources';
  /** The machine's 1-minute load average per core before and after: figures from a busy machine say so. */
  loadPerCore: { before: number; after: number };
  configurations: Record<string, { startMs: number; cpuMs: number; peakRssMb: number; tools: string }>;
}

function loadPerCore(): number {
  return Math.round((loadavg()[0]! / cpus().length) * 100) / 100;
}

export async function runOpenapiStartupBench(runs = 3): Promise<OpenApiStartupResult> {
  const document = githubDocumentPath();
  const github = (selection: Record<string, unknown>) => [
    { id: 'github', kind: 'http', baseUrl: 'https://api.github.com', openapi: { document, ...selection } },
  ];
  const configurations: [string, unknown[], string][] = [
    ['baseline (no connector)', [], '0'],
    ['github, 10 operations', github({ operationIds: [...GITHUB_OPERATIONS] }), '10'],
    ['github, every operation', github({}), 'all'],
  ];
  const before = loadPerCore();
  const results: OpenApiStartupResult['configurations'] = {};
  for (const [name, connectors, tools] of configurations) {
    const samples: StartupSample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await startOnce(connectors));
    results[name] = {
      startMs: median(samples.map((s) => s.startMs)),
      cpuMs: median(samples.map((s) => s.cpuMs)),
      peakRssMb: median(samples.map((s) => s.peakRssMb)),
      tools,
    };
  }
  return {
    runs,
    command: commandArgs().runs,
    loadPerCore: { before, after: loadPerCore() },
    configurations: results,
  };
}

const USAGE = `usage: node --import tsx bench/openapi-startup-bench.ts [--runs 3]

Gateway start-up with GitHub's whole OpenAPI description as a connector, against ten of its operations and
against none: spawn to listening (wall and CPU time) and peak RSS, medians of --runs.`;

if (isEntryPoint(import.meta.url)) {
  const runs = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({ args, options: { runs: { type: 'string', default: '3' } } });
    return positiveInteger('runs', values.runs);
  });
  const result = await runOpenapiStartupBench(runs);
  process.stdout.write(
    `gateway start-up (${result.command}), median of ${runs} (spawn to listening; peak RSS = VmHWM); load per core ${result.loadPerCore.before} -> ${result.loadPerCore.after}\n`,
  );
  for (const [name, value] of Object.entries(result.configurations)) {
    process.stdout.write(
      `${name.padEnd(26)} ${String(value.startMs).padStart(6)} ms wall ${String(value.cpuMs).padStart(6)} ms CPU ${String(value.peakRssMb).padStart(5)} MB\n`,
    );
  }
}
