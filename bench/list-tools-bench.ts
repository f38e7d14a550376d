/**
 * `tools/list` of a large catalog: GitHub's REST description imported whole (the `@octokit/openapi`
 * development dependency, 1,221 tools, 1.76 MB of JSON a listing), listed by an agent in a 2025 session and
 * in the 2026-07-28 era, measured as the gateway's CPU time a listing (from /proc: what every other agent's
 * calls wait for while the event loop writes it) and the agent's p50 latency.
 *
 *   node --import tsx bench/list-tools-bench.ts [--baseline DIR] [--rounds 6] [--lists 20]
 *
 * Runs the compiled gateway (`npm run build` first), and with `--baseline DIR` the one compiled in another
 * checkout, side by side in interleaved rounds; a comparison is the median of the paired per-round ratios
 * (this build over the baseline), with its 95% interval from six rounds on. Nothing leaves the machine.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startGatewayProcess, type GatewayProcess } from '../test/conformance/gateway-process.js';
import { githubDocumentPath } from '../test/fixtures/github-openapi.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { BenchUsageError, positiveInteger } from './lib/options.js';
import { fixed } from './lib/report.js';
import { median, pairedMedian, rotate } from './lib/rounds.js';
import { percentile } from './lib/stats.js';
import { processCpuMicros } from './lib/thread-cpu.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const ERAS = ['legacy', 'modern'] as const;
type Era = (typeof ERAS)[number];

export interface ListToolsSample {
  /** The gateway's CPU time (every thread) a listing, in ms. */
  cpuMsPerList: number;
  p50Ms: number;
}

export interface ListToolsReport {
  tools: number;
  bytes: number;
  rounds: number;
  listsPerRound: number;
  /** Per build (`current`, `baseline`) and era: the medians over the rounds. */
  medians: Record<string, Record<Era, ListToolsSample>>;
  /** current / baseline, per era: median of the paired per-round ratios, with its 95% interval. */
  ratios?: Record<Era, Record<keyof ListToolsSample, { median: number; interval?: [number, number] }>>;
}

interface Lister {
  name: string;
  gateway: GatewayProcess;
  pool: Pool;
  /** One listing: its latency (request sent to answer read, before the answer is checked) and its shape. */
  list(era: Era): Promise<{ latencyMs: number; tools: number; bytes: number }>;
}

/** Whether the checkout at `root` has its `dist/` built, which its `bin/portcullis.js` runs. */
function isBuilt(root: string): boolean {
  return existsSync(path.join(root, 'dist', 'gateway', 'edges', 'cli', 'main.js'));
}

const notBuilt = (root: string): string => `${root} has no built dist/ (run npm run build there)`;

async function startLister(name: string, compiledCli: string): Promise<Lister> {
  const gateway = await startGatewayProcess({
    config: {
      connectors: [
        { id: 'github', kind: 'http', baseUrl: 'https://api.github.com', openapi: { document: githubDocumentPath() } },
      ],
    },
    readyTimeoutMs: 120_000,
    compiledCli,
  });
  const url = new URL(gateway.url);
  const pool = new Pool(url.origin, { connections: 1 });
  const post = async (headers: Record<string, string>, message: unknown) => {
    const response = await pool.request({
      path: url.pathname,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${gateway.key}`,
        ...headers,
      },
      body: JSON.stringify(message),
    });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  };
  const init = await post(
    {},
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'list-bench', version: '1' } },
    },
  );
  const sessionId = init.headers['mcp-session-id'];
  if (typeof sessionId !== 'string') throw new Error(`${name}: no session (${init.status} ${init.body.slice(0, 200)})`);
  const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY };
  await post(session, { jsonrpc: '2.0', method: 'notifications/initialized' });
  let id = 1;
  return {
    name,
    gateway,
    pool,
    async list(era) {
      id += 1;
      const started = performance.now();
      const answer =
        era === 'legacy'
          ? await post(session, { jsonrpc: '2.0', id, method: 'tools/list', params: {} })
          : await post(
              { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
              {
                jsonrpc: '2.0',
                id,
                method: 'tools/list',
                params: {
                  _meta: {
                    'io.modelcontextprotocol/protocolVersion': MODERN,
                    'io.modelcontextprotocol/clientCapabilities': {},
                    'io.modelcontextprotocol/clientInfo': { name: 'list-bench', version: '1' },
                  },
                },
              },
            );
      const latencyMs = performance.now() - started;
      const json = answer.body.startsWith('event:') ? /^data: (.*)$/m.exec(answer.body)?.[1] : answer.body;
      const tools = (JSON.parse(json ?? 'null') as { result?: { tools?: unknown[] } } | null)?.result?.tools;
      if (answer.status !== 200 || !Array.isArray(tools))
        throw new Error(`${name} ${era}: tools/list answered ${answer.status} ${answer.body.slice(0, 200)}`);
      return { latencyMs, tools: tools.length, bytes: Buffer.byteLength(json ?? '') };
    },
  };
}

async function measure(
  lister: Lister,
  era: Era,
  lists: number,
): Promise<ListToolsSample & { tools: number; bytes: number }> {
  const pid = lister.gateway.pid!;
  const before = await processCpuMicros(pid);
  const latencies: number[] = [];
  let shape = { tools: 0, bytes: 0 };
  for (let i = 0; i < lists; i++) {
    const { latencyMs, ...listed } = await lister.list(era);
    latencies.push(latencyMs);
    shape = listed;
  }
  const after = await processCpuMicros(pid);
  if (before === undefined || after === undefined) throw new Error(`the CPU time of process ${pid} cannot be read`);
  latencies.sort((a, b) => a - b);
  return { cpuMsPerList: (after - before) / 1000 / lists, p50Ms: percentile(latencies, 50), ...shape };
}

export async function runListToolsBench(
  options: { baselineDir?: string; rounds?: number; lists?: number } = {},
): Promise<ListToolsReport> {
  const rounds = options.rounds ?? 6;
  const lists = options.lists ?? 20;
  const builds: [string, string][] = [['current', REPO_ROOT]];
  if (options.baselineDir !== undefined) builds.push(['baseline', path.resolve(options.baselineDir)]);
  for (const [, root] of builds) if (!isBuilt(root)) throw new Error(notBuilt(root));
  const listers: Lister[] = [];
  try {
    for (const [name, root] of builds) listers.push(await startLister(name, path.join(root, 'bin', 'portcullis.js')));
    // Warm-up: each build's first listings (made once per catalog) and its JIT.
    for (const lister of listers) for (const era of ERAS) await measure(lister, era, 5);
    const samples: Record<string, Record<Era, ListToolsSample[]>> = {};
    let shape = { tools: 0, bytes: 0 };
    for (let round = 0; round < rounds; round++) {
      for (const lister of rotate(listers, round)) {
        for (const era of ERAS) {
          const { tools, bytes, ...sample } = await measure(lister, era, lists);
          shape = { tools, bytes };
          (samples[lister.name] ??= { legacy: [], modern: [] })[era].push(sample);
        }
      }
    }
    const medians: ListToolsReport['medians'] = {};
    for (const [name, byEra] of Object.entries(samples)) {
      const of = (era: Era, key: keyof ListToolsSample) => median(byEra[era].map((s) => s[key]));
      medians[name] = {
        legacy: { cpuMsPerList: of('legacy', 'cpuMsPerList'), p50Ms: of('legacy', 'p50Ms') },
        modern: { cpuMsPerList: of('modern', 'cpuMsPerList'), p50Ms: of('modern', 'p50Ms') },
      };
    }
    const report: ListToolsReport = { ...shape, rounds, listsPerRound: lists, medians };
    const current = samples['current'];
    const baseline = samples['baseline'];
    if (current !== undefined && baseline !== undefined) {
      const compare = (era: Era, key: keyof ListToolsSample) => {
        const paired = pairedMedian(current[era].map((s, i) => s[key] / baseline[era][i]![key]));
        return {
          median: paired.median,
          ...(paired.interval !== undefined
            ? { interval: [paired.interval.low, paired.interval.high] as [number, number] }
            : {}),
        };
      };
      report.ratios = {
        legacy: { cpuMsPerList: compare('legacy', 'cpuMsPerList'), p50Ms: compare('legacy', 'p50Ms') },
        modern: { cpuMsPerList: compare('modern', 'cpuMsPerList'), p50Ms: compare('modern', 'p50Ms') },
      };
    }
    return report;
  } finally {
    for (const lister of listers) {
      await lister.pool.close();
      await lister.gateway.close();
    }
  }
}

export function formatListToolsReport(report: ListToolsReport): string {
  const lines = [
    `tools/list of ${report.tools} tools (${fixed(report.bytes / 1e6, 2)} MB), ${report.rounds} rounds of ${report.listsPerRound} listings per era`,
    'build     era     cpu ms/list  p50 ms',
  ];
  for (const [name, byEra] of Object.entries(report.medians))
    for (const era of ERAS)
      lines.push(
        `${name.padEnd(9)} ${era.padEnd(7)} ${fixed(byEra[era].cpuMsPerList, 2).padStart(11)}  ${fixed(byEra[era].p50Ms, 2).padStart(6)}`,
      );
  if (report.ratios !== undefined) {
    lines.push('current / baseline (median of paired per-round ratios, 95% interval):');
    for (const era of ERAS) {
      const show = (key: keyof ListToolsSample) => {
        const { median: value, interval } = report.ratios![era][key];
        return `${fixed(value, 2)}${interval !== undefined ? ` (${fixed(interval[0], 2)} to ${fixed(interval[1], 2)})` : ''}`;
      };
      lines.push(`  ${era}: cpu/list ${show('cpuMsPerList')}, p50 ${show('p50Ms')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const USAGE = `usage: node --import tsx bench/list-tools-bench.ts [--baseline DIR] [--rounds 6] [--lists 20]

tools/list of GitHub's whole REST description (1,221 tools) through the compiled gateway, in a 2025 session and
in the 2026-07-28 era: the gateway's CPU time a listing and the p50 latency, and with --baseline the build
compiled in DIR beside it, as ratios of paired rounds.`;

if (isEntryPoint(import.meta.url)) {
  const options = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: { baseline: { type: 'string' }, rounds: { type: 'string' }, lists: { type: 'string' } },
    });
    if (values.baseline === '') throw new BenchUsageError('--baseline needs a directory');
    if (values.baseline !== undefined && !isBuilt(path.resolve(values.baseline)))
      throw new BenchUsageError(notBuilt(values.baseline));
    return {
      ...(values.baseline !== undefined ? { baselineDir: values.baseline } : {}),
      rounds: positiveInteger('rounds', values.rounds ?? '6'),
      lists: positiveInteger('lists', values.lists ?? '20'),
    };
  });
  const report = await runListToolsBench(options);
  process.stdout.write(formatListToolsReport(report));
}
