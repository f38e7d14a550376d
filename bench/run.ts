/**
 * `npm run bench`: tools/call throughput and latency through Portcullis, compared in one run with a
 * direct connection to the same upstream and with the `mcp-proxy` package in front of it.
 *
 *   node --import tsx bench/run.ts [--sessions 1,32] [--calls 200] [--warmup 20] [--max-seconds 20]
 *                                  [--targets direct,mcp-proxy,portcullis] [--out bench/results/latest.json]
 *
 * Each flag has an environment twin: BENCH_SESSIONS, BENCH_CALLS, BENCH_WARMUP, BENCH_MAX_SECONDS,
 * BENCH_TARGETS, BENCH_OUT (flags win). `--calls` is per session. Results are printed as a table with
 * the ratios portcullis/direct and portcullis/mcp-proxy, and written as JSON. Only loopback is used.
 *
 * Other micro-benchmarks plug in here: every `bench/<name>-bench.ts` exporting `run<Name>Bench()` (e.g.
 * `bench/policy-bench.ts` with `runPolicyBench()`) runs after the end-to-end measurements, and whatever it
 * returns is stored under `micro.<name>`. `--targets none` runs only these.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, platform, release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult } from './lib/load.js';
import { findMicroBenches, runMicroBench } from './lib/micro.js';
import { formatTable, ratios, type Ratios } from './lib/report.js';
import { startTarget, TARGET_NAMES, type TargetName } from './lib/targets.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface BenchConfig {
  sessions: number[];
  callsPerSession: number;
  warmupCalls: number;
  maxSeconds: number;
  targets: TargetName[];
  out: string;
}

export interface BenchReport {
  startedAt: string;
  environment: { node: string; platform: string; release: string; cpus: number; cpuModel: string };
  config: BenchConfig;
  /** results[target][sessions] */
  results: Partial<Record<TargetName, Record<string, LoadResult>>>;
  ratios: Record<string, Ratios>;
  micro: Record<string, unknown>;
  /** Targets that could not be measured, with why. */
  skipped: Partial<Record<TargetName, string>>;
}

class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
  override readonly name = 'BenchUsageError';
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new BenchUsageError(`${name} must be a non-negative integer (got ${value})`);
  return n;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sessions: { type: 'string' },
      calls: { type: 'string' },
      warmup: { type: 'string' },
      'max-seconds': { type: 'string' },
      targets: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const pick = (flag: string | undefined, name: string, fallback: string): string => flag ?? env[name] ?? fallback;
  const sessions = pick(values.sessions, 'BENCH_SESSIONS', '1,32')
    .split(',')
    .map((s) => positiveInt('--sessions', s.trim()));
  if (sessions.some((s) => s < 1 || s > 256)) throw new BenchUsageError('--sessions entries must be between 1 and 256');
  const targetList = pick(values.targets, 'BENCH_TARGETS', TARGET_NAMES.join(','));
  const targets = targetList === 'none' ? [] : targetList.split(',').map((t) => t.trim());
  for (const t of targets)
    if (!TARGET_NAMES.includes(t as TargetName))
      throw new BenchUsageError(`unknown target ${t} (expected ${TARGET_NAMES.join(', ')})`);
  const maxSeconds = Number(pick(values['max-seconds'], 'BENCH_MAX_SECONDS', '20'));
  if (!(maxSeconds > 0 && maxSeconds <= 600)) throw new BenchUsageError('--max-seconds must be in (0, 600]');
  return {
    sessions,
    callsPerSession: positiveInt('--calls', pick(values.calls, 'BENCH_CALLS', '200')),
    warmupCalls: positiveInt('--warmup', pick(values.warmup, 'BENCH_WARMUP', '20')),
    maxSeconds,
    targets: targets as TargetName[],
    out: path.resolve(pick(values.out, 'BENCH_OUT', path.join(BENCH_DIR, 'results', 'latest.json'))),
  };
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export async function runBench(config: BenchConfig): Promise<BenchReport> {
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: platform(),
      release: release(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
    },
    config,
    results: {},
    ratios: {},
    micro: {},
    skipped: {},
  };
  const text = 'hello portcullis';
  for (const name of config.targets) {
    log(`[bench] starting ${name}`);
    let target;
    try {
      target = await startTarget(name);
    } catch (error) {
      report.skipped[name] = error instanceof Error ? (error.message.split('\n')[0] ?? 'start failed') : String(error);
      log(`[bench] ${name} could not start: ${report.skipped[name]}`);
      continue;
    }
    try {
      const perSessions: Record<string, LoadResult> = {};
      for (const sessions of config.sessions) {
        log(`[bench] ${name}: ${sessions} session(s) x ${config.callsPerSession} calls`);
        perSessions[String(sessions)] = await runLoad({
          url: target.url,
          ...(target.headers !== undefined ? { headers: target.headers } : {}),
          tool: target.tool,
          args: { text },
          expectText: text,
          sessions,
          warmupCalls: config.warmupCalls,
          callsPerSession: config.callsPerSession,
          maxSeconds: config.maxSeconds,
        });
      }
      report.results[name] = perSessions;
    } catch (error) {
      report.skipped[name] = error instanceof Error ? (error.message.split('\n')[0] ?? 'run failed') : String(error);
      log(`[bench] ${name} failed: ${report.skipped[name]}`);
    } finally {
      await target.close();
    }
  }
  for (const sessions of config.sessions) report.ratios[String(sessions)] = ratios(report.results, String(sessions));

  for (const name of await findMicroBenches(BENCH_DIR)) {
    log(`[bench] running bench/${name}-bench.ts`);
    report.micro[name] = await runMicroBench(BENCH_DIR, name);
  }
  return report;
}

async function main(): Promise<number> {
  let config: BenchConfig;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const report = await runBench(config);
  if (Object.keys(report.results).length > 0)
    process.stdout.write(`${formatTable(report.results, report.ratios, config.sessions)}\n`);
  for (const [name, why] of Object.entries(report.skipped)) process.stdout.write(`not measured: ${name}: ${why}\n`);
  if (Object.keys(report.micro).length > 0)
    process.stdout.write(`micro-benchmarks: ${JSON.stringify(report.micro, null, 2)}\n`);
  await mkdir(path.dirname(config.out), { recursive: true });
  await writeFile(config.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`wrote ${config.out}\n`);
  const anyErrors = Object.values(report.results).some((r) => Object.values(r ?? {}).some((x) => x.errors > 0));
  return Object.keys(report.skipped).length > 0 || anyErrors ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
