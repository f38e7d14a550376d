/**
 * Policy decision time at 10, 1,000 and 10,000 rules: p50/p99 of `engine.evaluate` per call, measured one
 * decision at a time with process.hrtime.bigint after a warm-up and a full garbage collection (the policy is
 * compiled once and then decides; the compile's garbage is not part of a decision).
 *
 * The rule mix is what generated and hand-written policies look like together: most rules name exact tools
 * (per-agent baselines), a fifth use `connector_*` globs, a few leading globs land in the fallback list,
 * one in ten carries a CEL condition, a third of the HTTP rules match paths with named segments, and one
 * in fifty is a deny. Calls are drawn from the same tool names, so most calls find candidate rules.
 *
 * Each size also reports what compiling the policy took: its time and the heap the compiled engine holds
 * (after a full collection, beyond the parsed documents it keeps), per rule.
 *
 * The engine measured is the one the gateway runs: compiled to dist/ (rebuilt first when the sources are
 * newer), not the sources through tsx, whose transform gives every function object a name property of its
 * own and so changes what a compiled policy weighs.
 *
 * Run directly to print a table: node --import tsx bench/policy-bench.ts
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as PolicyModule from '../policies/index.js';
import type { CallFacts, PolicyEngine } from '../policies/index.js';
import { collectGarbage, heapUsedAfterCollection } from '../test/helpers/heap.js';
import { ensureCompiled } from './lib/compiled.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

type Policies = typeof PolicyModule;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The policy engine as compiled to dist/. */
async function compiledPolicies(): Promise<Policies> {
  ensureCompiled(ROOT, (line) => process.stderr.write(`${line}\n`));
  return (await import(pathToFileURL(path.join(ROOT, 'dist', 'policies', 'index.js')).href)) as Policies;
}

export interface PolicyBenchRow {
  rules: number;
  decisions: number;
  p50Micros: number;
  p99Micros: number;
  meanMicros: number;
  /** Compiling the parsed policy into an engine, the first time at this size. */
  compileMillis: number;
  /** Heap the compiled engine holds, per rule, in KB (1,000 bytes). */
  heapKilobytesPerRule: number;
  /** Share of decisions that allowed (a sanity check that the mix exercises the rules). */
  allowedShare: number;
}

export interface PolicyBenchReport {
  rows: PolicyBenchRow[];
  targetP99Micros: number;
  /** p99 at the largest size within the target. */
  meetsTarget: boolean;
}

/** Deterministic PRNG so every run measures the same policy and calls. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const VERBS = ['get', 'list', 'create', 'update', 'delete', 'search'];
const METHOD: Record<string, string> = {
  get: 'GET',
  list: 'GET',
  search: 'GET',
  create: 'POST',
  update: 'PATCH',
  delete: 'DELETE',
};

/** Draws an item of a list with `random`. */
function picker(random: () => number): <T>(items: readonly T[]) => T {
  return (items) => items[Math.floor(random() * items.length)]!;
}

/** The benchmark's rules (see above): plain rule objects, and the tool and agent names they are drawn from. */
export function generateRules(
  ruleCount: number,
  random: () => number,
): { rules: Record<string, unknown>[]; tools: string[]; agents: number } {
  const connectors = Math.max(2, Math.ceil(ruleCount / 50));
  const agents = Math.max(2, Math.ceil(ruleCount / 20));
  const tools: string[] = [];
  for (let c = 0; c < connectors; c++) for (const verb of VERBS) tools.push(`svc${c}_${verb}_item`);
  const pick = picker(random);

  const rules: Record<string, unknown>[] = [];
  const fallbackBudget = Math.min(10, Math.ceil(ruleCount / 100));
  for (let i = 0; i < ruleCount; i++) {
    const roll = random();
    const tool = pick(tools);
    const verb = tool.split('_')[1]!;
    const agent = `agent-${Math.floor(random() * agents)}`;
    const rule: Record<string, unknown> = { id: `r${i}`, effect: i % 50 === 0 ? 'deny' : 'allow' };
    if (roll < 0.75) {
      rule['tools'] = [tool];
      rule['principal'] = { agents: [agent] };
    } else if (
      roll < 0.95 ||
      fallbackBudget <= rules.filter((r) => (r['tools'] as string[] | undefined)?.[0]?.startsWith('*')).length
    ) {
      rule['tools'] = [`${tool.split('_')[0]}_${verb}_*`];
      rule['principal'] = { roles: [pick(['support', 'finance', 'dev'])] };
    } else {
      rule['tools'] = [`*_${verb}_item`];
      rule['principal'] = { agents: [`${agent}-special-*`] };
    }
    if (i % 3 === 0)
      rule['http'] = {
        methods: [METHOD[verb]],
        ...(i % 9 === 0 ? { paths: ['/items/{id}', '/items/{id}/notes/**'] } : {}),
      };
    if (i % 10 === 0 && rule['effect'] === 'allow')
      rule['when'] = 'has(args.amount) && args.amount <= 100 && principal.agentId.startsWith("agent-")';
    rules.push(rule);
  }
  return { rules, tools, agents };
}

export interface BuiltPolicy {
  engine: PolicyEngine;
  calls: CallFacts[];
  compileMillis: number;
  /** Heap held by one compiled engine (what a full collection leaves of it). */
  heapBytes: number;
}

/**
 * The heap an engine holds is read as the heap after a full collection with it minus without it, which in
 * a process doing other work (the end-to-end run's last sockets and timers) moves by a megabyte or two
 * either way; the heap is therefore read over copies of the engine holding at least this many rules in all.
 */
const HEAP_SAMPLE_RULES = 20_000;

export function buildPolicy(ruleCount: number, random: () => number, policies: Policies): BuiltPolicy {
  const { rules, tools, agents } = generateRules(ruleCount, random);
  const pick = picker(random);
  const parsed = policies.parsePolicyObject({ version: 1, name: `bench-${ruleCount}`, rules }, 'bench.yaml');
  const copies = Math.ceil(HEAP_SAMPLE_RULES / ruleCount);
  const heapBefore = heapUsedAfterCollection();
  const start = process.hrtime.bigint();
  const engine = policies.compilePolicy([parsed]);
  const compileMillis = Number(process.hrtime.bigint() - start) / 1e6;
  const engines = [engine];
  while (engines.length < copies) engines.push(policies.compilePolicy([parsed]));
  const heapBytes = (heapUsedAfterCollection() - heapBefore) / copies;
  engines.length = 0;

  const calls: CallFacts[] = [];
  for (let i = 0; i < 2_000; i++) {
    const tool = pick(tools);
    const [connector, verb] = tool.split('_') as [string, string];
    calls.push({
      principal: {
        agentId: `agent-${Math.floor(random() * agents)}`,
        roles: [pick(['support', 'finance', 'dev'])],
        tenant: 'acme',
      },
      task: { id: 'bench', intent: 'benchmark' },
      tool: { name: tool, connector, local: tool.slice(connector.length + 1), connectorKind: 'http' },
      http: {
        method: METHOD[verb]!,
        scheme: 'https',
        host: 'api.bench.example',
        port: 443,
        path: `/items/${i}`,
        query: '',
      },
      args: { id: i, amount: Math.floor(random() * 200), note: 'benchmark call' },
      now: Date.UTC(2024, 0, 1, 12),
    });
  }
  return { engine, calls, compileMillis, heapBytes };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runPolicyBench(
  options: { sizes?: readonly number[]; decisions?: number } = {},
): Promise<PolicyBenchReport> {
  const sizes = options.sizes ?? [10, 1_000, 10_000];
  const decisions = options.decisions ?? 20_000;
  const rows: PolicyBenchRow[] = [];
  const policies = await compiledPolicies();
  for (const size of sizes) {
    const { engine, calls, compileMillis, heapBytes } = buildPolicy(size, prng(size), policies);
    // Warm-up: JIT, CEL activations, regex caches.
    for (let i = 0; i < 5_000; i++) engine.evaluate(calls[i % calls.length]!);
    const samples = new Float64Array(decisions);
    // Steady state, as in the gateway where a policy is compiled once and decides for a long time after:
    // the garbage of building and compiling is collected before the clock starts, not during it.
    collectGarbage();
    let allowed = 0;
    for (let i = 0; i < decisions; i++) {
      const facts = calls[i % calls.length]!;
      const start = process.hrtime.bigint();
      const decision = engine.evaluate(facts);
      samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
      if (decision.effect === 'allow') allowed++;
    }
    const sorted = Array.from(samples).sort((a, b) => a - b);
    const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
    rows.push({
      rules: size,
      decisions,
      p50Micros: round(percentile(sorted, 50)),
      p99Micros: round(percentile(sorted, 99)),
      meanMicros: round(mean),
      compileMillis: round(compileMillis),
      heapKilobytesPerRule: round(heapBytes / size / 1_000),
      allowedShare: round(allowed / decisions),
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  const targetP99Micros = 50;
  const largest = rows.at(-1);
  return { rows, targetP99Micros, meetsTarget: largest !== undefined && largest.p99Micros <= targetP99Micros };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function formatPolicyBench(report: PolicyBenchReport): string {
  const header = 'rules    decisions  p50 (us)  p99 (us)  mean (us)  allowed  compile (ms)  heap (KB/rule)';
  const lines = report.rows.map((r) =>
    [
      String(r.rules).padStart(6),
      String(r.decisions).padStart(11),
      r.p50Micros.toFixed(2).padStart(9),
      r.p99Micros.toFixed(2).padStart(9),
      r.meanMicros.toFixed(2).padStart(10),
      `${Math.round(r.allowedShare * 100)}%`.padStart(8),
      r.compileMillis.toFixed(1).padStart(13),
      r.heapKilobytesPerRule.toFixed(2).padStart(15),
    ].join(' '),
  );
  return [
    header,
    ...lines,
    `target p99 <= ${report.targetP99Micros} us at the largest size: ${report.meetsTarget ? 'met' : 'NOT met'}`,
  ].join('\n');
}

const USAGE = `usage: node --import tsx bench/policy-bench.ts

Policy decision time at 10, 1,000 and 10,000 rules (p50/p99 of a decision, µs), compile time and heap a
rule, with the engine compiled to dist/ as the gateway runs it.`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  process.stdout.write(`${formatPolicyBench(await runPolicyBench())}\n`);
}
