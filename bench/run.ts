/**
 * `npm run bench`: tools/call throughput and latency through Portcullis, compared in one run with a
 * direct connection to the same upstream, with a bare node:http pass-through in front of it
 * (bench/passthrough.ts) and with the `mcp-proxy` package in front of it.
 *
 *   node --import tsx bench/run.ts [--sessions 1,32] [--calls 200] [--warmup 20] [--startup-warmup 500]
 *                                  [--max-seconds 20]
 *                                  [--rounds 3] [--drivers raw,sdk] [--mode legacy|modern|legacy,modern]
 *                                  [--targets direct,passthrough,mcp-proxy,portcullis] [--profile] [--no-micro]
 *                                  [--profile-functions NAME,...] [--from-source] [--baseline DIR]
 *                                  [--baseline-node-flags="--flag ..."] [--baseline-env NAME=VALUE ...]
 *                                  [--payload-bytes 16] [--trace-context]
 *                                  [--out bench/results/latest.json]
 *
 * Each flag has an environment twin: BENCH_SESSIONS, BENCH_CALLS, BENCH_WARMUP, BENCH_STARTUP_WARMUP,
 * BENCH_MAX_SECONDS, BENCH_ROUNDS, BENCH_DRIVERS, BENCH_MODE, BENCH_TARGETS, BENCH_PAYLOAD_BYTES, BENCH_OUT
 * (flags win). `--calls` is per session. `--startup-warmup` (default 500, 0 for none) is how many calls each
 * target serves in each era right after it starts, before the first round. `--payload-bytes` sizes the text every call sends and gets back.
 * `--trace-context` gives every call a trace context of its own in `params._meta` (a new `traceparent`), as
 * an agent that traces its own work sends.
 *
 * Every target is started once and measured once per round, for every driver, era and session count, the
 * targets in a different order each round (interleaved rounds). Ratios are taken within each round and the
 * reported figure is their median (see lib/rounds.ts). `--mode modern` drives both clients in the
 * 2026-07-28 stateless era (the SDK driver with the SDK's 2.x client); a target that does not speak it is
 * reported as unsupported for those cells.
 * `--profile` records a CPU profile of each gateway process and of `mcp-proxy` (node --cpu-prof) and prints
 * their top frames;
 * `--profile-functions` adds, for each function named, its time with what it calls (a change's own frames).
 * The gateway runs as installed users run it, the compiled command over dist/ (rebuilt first when a source
 * is newer); `--from-source` runs the sources through tsx instead. `--baseline DIR` adds the target
 * `portcullis-baseline`, the gateway built in another checkout (e.g. a worktree of the commit before a change,
 * after `npm run build` there), and reports `portcullis / portcullis-baseline` ratios from the same rounds;
 * `--targets portcullis-10k-rules,portcullis-10k-rules-baseline --baseline DIR` compares the two builds with
 * the 10,000-rule policy instead, and so on for each configuration (`portcullis-noaudit-baseline`, ...).
 * `--baseline-node-flags` (Node flags after those on the baseline command's first line) and `--baseline-env`
 * (repeatable) run the baseline with a runtime flag or an environment variable of its own: with `--baseline .`
 * they measure a setting against the same build.
 *
 * Other micro-benchmarks plug in here: every `bench/<name>-bench.ts` exporting `run<Name>Bench()` (e.g.
 * `bench/policy-bench.ts` with `runPolicyBench()`) runs after the end-to-end measurements, and whatever it
 * returns is stored under `micro.<name>`. `--targets none` runs only these; `--no-micro` skips them.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { ensureCompiled } from './lib/compiled.js';
import {
  compareSummaries,
  formatComparison,
  formatProfile,
  functionNamesOf,
  mainCpuPerCall,
  summarizeProfile,
  type CpuProfile,
  type ProfileComparison,
  type ProfileSummary,
} from './lib/cpu-profile.js';
import { BenchUsageError, listOf, nonNegativeInteger } from './lib/options.js';
import { DRIVER_NAMES, runLoad, type DriverName, type LoadResult } from './lib/load.js';
import { checkGoals, formatGoals, type GoalCheck } from './lib/goals.js';
import { findMicroBenches, runMicroBench } from './lib/micro.js';
import { ERA_MODES, UnsupportedEraError, type EraMode } from './lib/eras.js';
import { formatComparisons, formatInterval, formatMedians, formatRounds } from './lib/report.js';
import {
  cellKey,
  compareCell,
  compareCells,
  pairedMedian,
  rotate,
  targetMedians,
  type MedianInterval,
  type PairedComparison,
  type RoundResults,
  type TargetMedians,
} from './lib/rounds.js';
import { DEFAULT_TARGETS, echoLoadOf, profilesOf, startTarget, type Target } from './lib/targets.js';
import { baselineTargetOf, isBaselineTarget, TARGET_NAMES, type TargetName } from './lib/target-names.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');

/** Calls a target serves in each era after it starts, before the first round (`--startup-warmup`). */
export const DEFAULT_STARTUP_WARMUP_CALLS = 500;

export interface BenchConfig {
  sessions: number[];
  callsPerSession: number;
  warmupCalls: number;
  /**
   * Calls each target serves, in each era, right after it starts and before the first round: its JIT warmed
   * as a process that has been serving for a while is, so the cell measured first does not pay for start-up.
   */
  startupWarmupCalls: number;
  maxSeconds: number;
  rounds: number;
  drivers: DriverName[];
  modes: EraMode[];
  targets: TargetName[];
  profile: boolean;
  /** Functions whose time with what they call each profile summary gives (`--profile-functions`). */
  profileFunctions: string[];
  micro: boolean;
  /** Run the gateway from its sources through tsx instead of the compiled command. */
  fromSource: boolean;
  /** A checkout with a built dist/ to run as `portcullis-baseline`. */
  baseline?: string;
  /** Node flags for `portcullis-baseline` after its command's own (`--baseline-node-flags`). */
  baselineNodeFlags?: string[];
  /** Environment for `portcullis-baseline` (`--baseline-env NAME=VALUE`, repeatable). */
  baselineEnv?: Record<string, string>;
  /** Characters of the text each call sends to the echo tool, and expects back. */
  payloadBytes: number;
  /** Every call carries a trace context of its own in `params._meta` (`--trace-context`). */
  traceContext: boolean;
  out: string;
}

/** The echo text of every call, and the default size of it. */
export const DEFAULT_PAYLOAD_TEXT = 'hello portcullis';
/** The echo tool takes at most this many characters (bench/echo-server.ts). */
export const MAX_PAYLOAD_BYTES = 65_536;

/** The text a call sends: the default text, repeated and cut to `bytes` characters (ASCII, one byte each). */
export function payloadText(bytes: number): string {
  return DEFAULT_PAYLOAD_TEXT.repeat(Math.ceil(bytes / DEFAULT_PAYLOAD_TEXT.length)).slice(0, bytes);
}

export interface Cell {
  key: string;
  driver: DriverName;
  mode: EraMode;
  sessions: number;
}

export type ReportedConfig = Omit<BenchConfig, 'baselineEnv'> & { baselineEnv?: string[] };

/** The configuration as the report keeps it: the baseline's variables by name only. */
export function reportedConfig(config: BenchConfig): ReportedConfig {
  const { baselineEnv, ...rest } = config;
  return { ...rest, ...(baselineEnv !== undefined ? { baselineEnv: Object.keys(baselineEnv) } : {}) };
}

export interface BenchReport {
  startedAt: string;
  environment: {
    node: string;
    platform: string;
    release: string;
    cpus: number;
    cpuModel: string;
    loadPerCore: { before: number; after?: number };
  };
  /** The configuration, with the baseline's environment as its variables' names: values may be secrets. */
  config: ReportedConfig;
  cells: Cell[];
  /** rounds[i][cell][target] */
  rounds: RoundResults;
  /** Each target's figures in each cell, medians over the rounds. */
  medians: TargetMedians[];
  /** Paired per-round ratios and their medians. */
  comparisons: PairedComparison[];
  /**
   * 2026-07-28 over 2025-era throughput with the raw driver, per round: Portcullis', and the echo server's
   * own (`direct`: what the SDK's per-request model costs against its sessions, with nothing in front).
   */
  modernOverLegacy: {
    target: 'portcullis' | 'direct';
    sessions: number;
    throughput: number[];
    median: number;
    interval?: MedianInterval;
  }[];
  /** Top frames of each gateway's and `mcp-proxy`'s CPU profile (`--profile`). */
  profiles: Record<string, ProfileSummary>;
  /** With `--profile` and a baseline target: what moved a call from the code before a change to after it. */
  profileChanges: BaselineProfileChange[];
  micro: Record<string, unknown>;
  /** The goals this run's figures judge (bench/lib/goals.ts), each with its verdict. */
  goals: GoalCheck[];
  /** Targets that could not be measured, with why. */
  skipped: Partial<Record<TargetName, string>>;
  /** Cells a target could not take part in (e.g. an era it does not speak), with why. */
  unsupported: Record<string, string>;
}

/** In one cell, the frames and owners ranked by how their time a call moved from a baseline to its target. */
export interface BaselineProfileChange {
  cell: string;
  /** The baseline target: the code before a change. */
  before: TargetName;
  /** Its configuration in this checkout: the code after it. */
  after: TargetName;
  comparison: ProfileComparison;
}

/** How many frames the report gives of each profile, and of each comparison. */
const PROFILE_TOP = 20;

/** The key of a target's profile summary in one cell, in the map `baselineProfileChanges` reads. */
export function summaryKey(target: TargetName, cell: string): string {
  return `${target} ${cell}`;
}

/**
 * The checkout a target's process ran from: the `--baseline` folder for a baseline target, this one for any
 * other. Its profile's files are named from there, so that a function has the same label in both builds.
 */
export function checkoutOf(target: TargetName, baselineDir: string | undefined): string {
  return isBaselineTarget(target) && baselineDir !== undefined ? path.resolve(baselineDir) : ROOT;
}

/**
 * For every profiled configuration whose baseline target was profiled too, per cell: what moved a call
 * between them (`compareSummaries`). `summaries` holds every frame of each target's summary in each cell,
 * under `summaryKey`.
 */
export function baselineProfileChanges(
  summaries: ReadonlyMap<string, ProfileSummary>,
  targets: readonly TargetName[],
  cells: readonly string[],
): BaselineProfileChange[] {
  const changes: BaselineProfileChange[] = [];
  for (const target of targets) {
    const baseline = baselineTargetOf(target);
    if (baseline === undefined) continue;
    for (const cell of cells) {
      const before = summaries.get(summaryKey(baseline, cell));
      const after = summaries.get(summaryKey(target, cell));
      if (before === undefined || after === undefined) continue;
      changes.push({
        cell,
        before: baseline,
        after: target,
        comparison: compareSummaries(before, after, { top: PROFILE_TOP }),
      });
    }
  }
  return changes;
}

/** What the baseline runs with beyond its own command, for the log: its flags, and the names of its variables. */
export function baselineSettings(config: BenchConfig): string {
  const settings = [...(config.baselineNodeFlags ?? []), ...Object.keys(config.baselineEnv ?? {}).map((k) => `${k}=…`)];
  return settings.length > 0 ? ` (${settings.join(' ')})` : '';
}

/** `--baseline-node-flags`: Node options separated by spaces, each one starting with `--`. */
function baselineNodeFlagsOf(text: string): string[] {
  const flags = text.split(/\s+/).filter((flag) => flag !== '');
  const stray = flags.find((flag) => !/^--[a-z0-9]/i.test(flag));
  if (stray !== undefined)
    throw new BenchUsageError(`--baseline-node-flags takes Node options such as --use-largepages=on (got ${stray})`);
  return flags;
}

/** `--baseline-env NAME=VALUE` entries as an environment; undefined when none is given. */
function baselineEnvironmentOf(entries: readonly string[]): Record<string, string> | undefined {
  if (entries.length === 0) return undefined;
  // Without a prototype, so that any name (`__proto__` too) is a variable of its own.
  const environment = Object.create(null) as Record<string, string>;
  for (const entry of entries) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(entry);
    if (match === null) throw new BenchUsageError(`--baseline-env takes NAME=VALUE (got ${entry})`);
    environment[match[1]!] = match[2]!;
  }
  return environment;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sessions: { type: 'string' },
      calls: { type: 'string' },
      warmup: { type: 'string' },
      'startup-warmup': { type: 'string' },
      'max-seconds': { type: 'string' },
      rounds: { type: 'string' },
      drivers: { type: 'string' },
      mode: { type: 'string' },
      targets: { type: 'string' },
      profile: { type: 'boolean' },
      'profile-functions': { type: 'string' },
      'no-micro': { type: 'boolean' },
      'from-source': { type: 'boolean' },
      baseline: { type: 'string' },
      'baseline-node-flags': { type: 'string' },
      'baseline-env': { type: 'string', multiple: true },
      'payload-bytes': { type: 'string' },
      'trace-context': { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const pick = (flag: string | undefined, name: string, fallback: string): string => flag ?? env[name] ?? fallback;
  const sessions = pick(values.sessions, 'BENCH_SESSIONS', '1,32')
    .split(',')
    .map((s) => nonNegativeInteger('sessions', s.trim()));
  if (sessions.some((s) => s < 1 || s > 256)) throw new BenchUsageError('--sessions entries must be between 1 and 256');
  const targetList = pick(values.targets, 'BENCH_TARGETS', DEFAULT_TARGETS.join(','));
  const targets = targetList === 'none' ? [] : listOf('--targets', targetList, TARGET_NAMES);
  const baselineFlag = pick(values.baseline, 'BENCH_BASELINE', '');
  const baseline = baselineFlag === '' ? undefined : path.resolve(baselineFlag);
  if (baseline !== undefined && !existsSync(path.join(baseline, 'dist', 'gateway', 'edges', 'cli', 'main.js')))
    throw new BenchUsageError(`--baseline ${baseline} has no built dist/ (run npm run build there)`);
  if (baseline !== undefined && !targets.some(isBaselineTarget)) targets.push('portcullis-baseline');
  const needsBaseline = targets.find(isBaselineTarget);
  if (baseline === undefined && needsBaseline !== undefined)
    throw new BenchUsageError(`the ${needsBaseline} target needs --baseline DIR`);
  const baselineNodeFlags = baselineNodeFlagsOf(pick(values['baseline-node-flags'], 'BENCH_BASELINE_NODE_FLAGS', ''));
  const baselineEnv = baselineEnvironmentOf(values['baseline-env'] ?? []);
  if (baseline === undefined && (baselineNodeFlags.length > 0 || baselineEnv !== undefined))
    throw new BenchUsageError('--baseline-node-flags and --baseline-env need --baseline DIR (. for this checkout)');
  const maxSeconds = Number(pick(values['max-seconds'], 'BENCH_MAX_SECONDS', '20'));
  if (!(maxSeconds > 0 && maxSeconds <= 600)) throw new BenchUsageError('--max-seconds must be in (0, 600]');
  const rounds = nonNegativeInteger('rounds', pick(values.rounds, 'BENCH_ROUNDS', '3'));
  if (rounds < 1 || rounds > 50) throw new BenchUsageError('--rounds must be between 1 and 50');
  const payloadBytes = nonNegativeInteger(
    'payload-bytes',
    pick(values['payload-bytes'], 'BENCH_PAYLOAD_BYTES', String(DEFAULT_PAYLOAD_TEXT.length)),
  );
  if (payloadBytes < 1 || payloadBytes > MAX_PAYLOAD_BYTES)
    throw new BenchUsageError(`--payload-bytes must be between 1 and ${MAX_PAYLOAD_BYTES} (the echo tool's limit)`);
  const profileFunctions = functionNamesOf(values['profile-functions'] ?? '');
  if (profileFunctions.length > 0 && values.profile !== true)
    throw new BenchUsageError('--profile-functions needs --profile');
  return {
    sessions,
    callsPerSession: nonNegativeInteger('calls', pick(values.calls, 'BENCH_CALLS', '200')),
    warmupCalls: nonNegativeInteger('warmup', pick(values.warmup, 'BENCH_WARMUP', '20')),
    startupWarmupCalls: nonNegativeInteger(
      'startup-warmup',
      pick(values['startup-warmup'], 'BENCH_STARTUP_WARMUP', String(DEFAULT_STARTUP_WARMUP_CALLS)),
    ),
    maxSeconds,
    rounds,
    drivers: listOf('--drivers', pick(values.drivers, 'BENCH_DRIVERS', DRIVER_NAMES.join(',')), DRIVER_NAMES),
    modes: listOf('--mode', pick(values.mode, 'BENCH_MODE', 'legacy'), ERA_MODES),
    targets,
    profile: values.profile === true,
    profileFunctions,
    micro: values['no-micro'] !== true,
    fromSource: values['from-source'] === true,
    ...(baseline !== undefined ? { baseline } : {}),
    ...(baselineNodeFlags.length > 0 ? { baselineNodeFlags } : {}),
    ...(baselineEnv !== undefined ? { baselineEnv } : {}),
    payloadBytes,
    traceContext: values['trace-context'] === true,
    out: path.resolve(pick(values.out, 'BENCH_OUT', path.join(BENCH_DIR, 'results', 'latest.json'))),
  };
}

/** Every (driver, era, sessions) cell. */
export function cellsOf(config: BenchConfig): Cell[] {
  const cells: Cell[] = [];
  for (const driver of config.drivers)
    for (const mode of config.modes)
      for (const sessions of config.sessions)
        cells.push({ key: cellKey(driver, mode, sessions), driver, mode, sessions });
  return cells;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const loadPerCore = (): number => Math.round((loadavg()[0]! / Math.max(1, cpus().length)) * 100) / 100;

export async function runBench(config: BenchConfig): Promise<BenchReport> {
  const cells = cellsOf(config);
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: platform(),
      release: release(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadPerCore: { before: loadPerCore() },
    },
    config: reportedConfig(config),
    cells,
    rounds: [],
    medians: [],
    comparisons: [],
    modernOverLegacy: [],
    profiles: {},
    profileChanges: [],
    micro: {},
    goals: [],
    skipped: {},
    unsupported: {},
  };
  const text = payloadText(config.payloadBytes);
  const profileDir = config.profile ? await mkdtemp(path.join(tmpdir(), 'portcullis-bench-prof-')) : undefined;

  if (!config.fromSource && config.targets.some((name) => name.startsWith('portcullis'))) ensureCompiled(ROOT, log);

  const running: Target[] = [];
  try {
    for (const name of config.targets) {
      log(`[bench] starting ${name}${isBaselineTarget(name) ? baselineSettings(config) : ''}`);
      try {
        running.push(
          await startTarget(name, {
            ...(profileDir !== undefined ? { profileDir } : {}),
            fromSource: config.fromSource,
            ...(config.baseline !== undefined ? { baselineDir: config.baseline } : {}),
            ...(config.baselineNodeFlags !== undefined ? { baselineNodeFlags: config.baselineNodeFlags } : {}),
            ...(config.baselineEnv !== undefined ? { baselineEnv: config.baselineEnv } : {}),
          }),
        );
      } catch (error) {
        report.skipped[name] = firstLine(error, 'start failed');
        log(`[bench] ${name} could not start: ${report.skipped[name]}`);
      }
    }
    for (const target of running) await warmUpAfterStart(target, config, text, log);
    for (let round = 0; round < config.rounds; round++) {
      const results: Record<string, Record<string, LoadResult>> = {};
      for (const cell of cells) {
        for (const target of rotate(running, round)) {
          const unsupportedKey = `${cell.key}/${target.name}`;
          if (report.unsupported[unsupportedKey] !== undefined || report.skipped[target.name] !== undefined) continue;
          log(`[bench] round ${round + 1}/${config.rounds} ${cell.key} ${target.name}`);
          try {
            const result = await runLoad({
              ...echoLoadOf(target, text),
              sessions: cell.sessions,
              warmupCalls: config.warmupCalls,
              callsPerSession: config.callsPerSession,
              maxSeconds: config.maxSeconds,
              driver: cell.driver,
              mode: cell.mode,
              traceContext: config.traceContext,
              ...(target.pid !== undefined ? { pid: target.pid } : {}),
              ...(target.metricsUrl !== undefined ? { metricsUrl: target.metricsUrl } : {}),
            });
            (results[cell.key] ??= {})[target.name] = result;
          } catch (error) {
            if (error instanceof UnsupportedEraError) {
              report.unsupported[unsupportedKey] = `unsupported: ${error.message}`;
              log(`[bench] ${target.name} ${cell.key}: unsupported (${error.message})`);
            } else {
              report.skipped[target.name] = firstLine(error, 'run failed');
              log(`[bench] ${target.name} failed: ${report.skipped[target.name]}`);
            }
          }
        }
      }
      report.rounds.push(results);
    }
  } finally {
    await Promise.all(running.map((t) => t.close().catch(() => undefined)));
  }
  report.environment.loadPerCore.after = loadPerCore();

  const names = running.map((t) => t.name);
  for (const cell of cells) {
    report.medians.push(...targetMedians(report.rounds, cell.key));
    report.comparisons.push(...compareCell(report.rounds, cell.key, names));
  }
  if (config.modes.includes('modern') && config.modes.includes('legacy') && config.drivers.includes('raw')) {
    for (const target of (['portcullis', 'direct'] as const).filter((name) => names.includes(name))) {
      for (const sessions of config.sessions) {
        const throughput = compareCells(
          report.rounds,
          target,
          cellKey('raw', 'modern', sessions),
          cellKey('raw', 'legacy', sessions),
          'throughput',
        );
        report.modernOverLegacy.push({ target, sessions, throughput, ...pairedMedian(throughput) });
      }
    }
  }
  // One summary per target and cell, over that cell's measured phases in every round, with per-call figures.
  const wholeSummaries = new Map<string, ProfileSummary>();
  for (const target of running) {
    for (const file of await profilesOf(target)) {
      const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
      for (const cell of cells) {
        const measured = report.rounds.flatMap((round) => {
          const result = round[cell.key]?.[target.name];
          if (result?.phase === undefined) return [];
          const main = result.cpuPerCallByThread?.main;
          return [
            { phase: result.phase, calls: result.calls, ...(main !== undefined ? { mainMicrosPerCall: main } : {}) },
          ];
        });
        if (measured.length === 0) continue;
        const mainCpu = mainCpuPerCall(measured);
        const summary = summarizeProfile(profile, {
          top: Number.POSITIVE_INFINITY,
          root: checkoutOf(target.name, config.baseline),
          windows: measured.map((m) => m.phase),
          calls: measured.reduce((sum, m) => sum + m.calls, 0),
          inclusive: config.profileFunctions,
        });
        const key = summaryKey(target.name, cell.key);
        if (!wholeSummaries.has(key)) wholeSummaries.set(key, summary);
        report.profiles[`${key} (${path.basename(file)})`] = {
          ...summary,
          frames: summary.frames.slice(0, PROFILE_TOP),
          ...(mainCpu !== undefined ? { mainCpuMicrosPerCall: mainCpu } : {}),
        };
      }
    }
  }
  report.profileChanges = baselineProfileChanges(
    wholeSummaries,
    running.map((target) => target.name),
    cells.map((cell) => cell.key),
  );

  if (config.micro) {
    for (const name of await findMicroBenches(BENCH_DIR)) {
      log(`[bench] running bench/${name}-bench.ts`);
      report.micro[name] = await runMicroBench(BENCH_DIR, name);
    }
  }
  report.goals = checkGoals(report);
  return report;
}

/**
 * A target's first calls after it starts run code V8 has not optimised yet (a policy condition's evaluator
 * takes some hundreds of calls to be compiled), so the cell measured first in the first round would pay for
 * that and no other would: each target first serves `startupWarmupCalls` calls on one raw session in each era
 * measured. Failures are left to the rounds, which report them (an era a target does not speak, a target
 * that fails).
 */
export async function warmUpAfterStart(
  target: Target,
  config: BenchConfig,
  text: string,
  log: (line: string) => void,
): Promise<void> {
  if (config.startupWarmupCalls === 0) return;
  for (const mode of config.modes) {
    log(`[bench] warming up ${target.name} (${config.startupWarmupCalls} calls, ${mode})`);
    await runLoad({
      ...echoLoadOf(target, text),
      sessions: 1,
      warmupCalls: 0,
      callsPerSession: config.startupWarmupCalls,
      maxSeconds: config.maxSeconds,
      driver: 'raw',
      mode,
      traceContext: config.traceContext,
    }).catch(() => undefined);
  }
}

function firstLine(error: unknown, fallback: string): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? fallback) : String(error);
}

const USAGE = `usage: node --import tsx bench/run.ts [--sessions 1,32] [--calls 200] [--warmup 20] [--startup-warmup 500]
                            [--max-seconds 20]
                            [--rounds 3] [--drivers raw,sdk] [--mode legacy|modern|legacy,modern]
                            [--targets direct,passthrough,mcp-proxy,portcullis] [--profile] [--no-micro]
                            [--profile-functions NAME,...] [--from-source] [--baseline DIR]
                            [--baseline-node-flags="--flag ..."] [--baseline-env NAME=VALUE ...]
                            [--payload-bytes 16] [--trace-context] [--out bench/results/latest.json]

tools/call throughput, latency and CPU a call through Portcullis and its baselines, in interleaved rounds,
reported as medians of paired per-round ratios; then the micro-benchmarks (bench/<name>-bench.ts).
Targets: ${TARGET_NAMES.join(', ')}.
Flags with a value have an environment twin (BENCH_SESSIONS, BENCH_CALLS, ...; flags win), but for
--profile-functions and --baseline-env. docs/benchmarks.md has
the method and the latest figures.`;

async function main(): Promise<number> {
  const config = readCommandLine(USAGE, (args) => parseConfig(args, process.env));
  const report = await runBench(config);
  const out = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  if (report.rounds.some((r) => Object.keys(r).length > 0)) {
    out(
      formatRounds(
        report.rounds,
        report.cells.map((c) => c.key),
      ),
    );
    out('');
    out(formatMedians(report.medians, config.rounds));
    out('');
    out(formatComparisons(report.comparisons, config.rounds));
  }
  for (const m of report.modernOverLegacy)
    out(
      `${m.target} modern / legacy throughput, raw driver, ${m.sessions} session(s): median ${Number.isFinite(m.median) ? m.median.toFixed(2) : '-'}, 95% interval ${formatInterval(m.interval)} (rounds: ${m.throughput.map((v) => (Number.isFinite(v) ? v.toFixed(2) : '-')).join(', ')})`,
    );
  if (report.goals.length > 0) out(`\n${formatGoals(report.goals)}\n`);
  out(
    `load per core: ${report.environment.loadPerCore.before} before, ${report.environment.loadPerCore.after ?? '-'} after`,
  );
  for (const [name, why] of Object.entries(report.skipped)) out(`not measured: ${name}: ${why}`);
  for (const [cell, why] of Object.entries(report.unsupported)) out(`${cell}: ${why}`);
  for (const [name, summary] of Object.entries(report.profiles)) out(`\n${formatProfile(summary, name)}`);
  for (const { cell, before, after, comparison } of report.profileChanges)
    out(`\n${formatComparison(comparison, `${before} ${cell}`, `${after} ${cell}`)}`);
  if (Object.keys(report.micro).length > 0) out(`micro-benchmarks: ${JSON.stringify(report.micro, null, 2)}`);
  await mkdir(path.dirname(config.out), { recursive: true });
  await writeFile(config.out, `${JSON.stringify(report, null, 2)}\n`);
  out(`wrote ${config.out}`);
  const anyErrors = report.rounds.some((r) => Object.values(r).some((c) => Object.values(c).some((x) => x.errors > 0)));
  return Object.keys(report.skipped).length > 0 || anyErrors ? 1 : 0;
}

if (isEntryPoint(import.meta.url)) {
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
