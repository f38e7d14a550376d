/**
 * Run the whole suite: one environment (fixture backends + in-process gateway) per profile, shared by every
 * scenario file that names it, and one per file with an inline `setup`. Scenarios of one environment run in
 * order; environments run a few at a time. The result feeds the scorecard and the gate.
 */
import type { KnownGap, Scenario } from './schema.js';
import type { LoadedSuite } from './load.js';
import { startEnvironment } from './environment.js';
import { inEvalNamespace } from './namespace.js';
import { runScenario, type StepObservation } from './steps.js';

export interface ScenarioResult {
  id: string;
  kind: 'attack' | 'benign';
  category: string;
  title: string;
  file: string;
  source: string;
  environment: string;
  passed: boolean;
  failure?: { step: number; message: string };
  /** Listed in known-gaps.yaml, with its reason. */
  knownGap?: string;
  /** Not run, and why (a scenario that needs the eval network namespace, run outside it). */
  notRun?: string;
}

interface Group {
  name: string;
  setup: Parameters<typeof startEnvironment>[1];
  namespace: boolean;
  items: { scenario: Scenario; file: string; category: string; source: string }[];
}

function groups(suite: LoadedSuite, filter?: (id: string) => boolean): Group[] {
  const byName = new Map<string, Group>();
  for (const { file, data } of suite.files) {
    const name = data.profile ?? `file:${file}`;
    const setup = data.profile !== undefined ? suite.profiles.get(data.profile)! : data.setup!;
    let group = byName.get(name);
    if (group === undefined) {
      group = { name, setup, namespace: data.namespace, items: [] };
      byName.set(name, group);
    }
    for (const scenario of data.scenarios) {
      if (filter !== undefined && !filter(scenario.id)) continue;
      group.items.push({ scenario, file, category: data.category, source: scenario.source ?? data.source });
    }
  }
  return [...byName.values()].filter((g) => g.items.length > 0);
}

async function runGroup(group: Group, gaps: Map<string, string>, options: RunOptions): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const base = (item: Group['items'][number]): Omit<ScenarioResult, 'passed'> => ({
    id: item.scenario.id,
    kind: item.scenario.kind,
    category: item.category,
    title: item.scenario.title,
    file: item.file,
    source: item.source,
    environment: group.name,
    ...(gaps.has(item.scenario.id) ? { knownGap: gaps.get(item.scenario.id)! } : {}),
  });
  if (group.namespace && !inEvalNamespace()) {
    const notRun = 'needs the eval network namespace (npm run evals creates it when run as root)';
    return group.items.map((item) => ({
      ...base(item),
      passed: false,
      notRun,
      failure: { step: -1, message: notRun },
    }));
  }
  let env;
  try {
    env = await startEnvironment(group.name, group.setup);
  } catch (error) {
    const message = `environment ${group.name} did not start: ${error instanceof Error ? error.message : String(error)}`;
    return group.items.map((item) => ({ ...base(item), passed: false, failure: { step: -1, message } }));
  }
  try {
    for (const item of group.items) {
      const observe = options.observe;
      const outcome = await runScenario(env, item.scenario, {
        seed: options.seed ?? 0,
        ...(observe !== undefined ? { observe: (o: StepObservation) => observe(item.scenario.id, o) } : {}),
      });
      results.push({
        ...base(item),
        passed: outcome.passed,
        ...(outcome.failure !== undefined ? { failure: outcome.failure } : {}),
      });
    }
  } finally {
    await env.close();
  }
  return results;
}

export interface RunOptions {
  concurrency?: number;
  filter?: (id: string) => boolean;
  /** Seed of the randomised literals (`${rand.NAME}`, `${randint.NAME}`); the same seed repeats a run. */
  seed?: number;
  /** Sees each request step's outcome and what the backends received (for tooling and diagnostics). */
  observe?: (scenarioId: string, observation: StepObservation) => void;
}

export async function runSuite(suite: LoadedSuite, options: RunOptions = {}): Promise<ScenarioResult[]> {
  const gaps = new Map(suite.gaps.map((g: KnownGap) => [g.id, g.reason]));
  const queue = groups(suite, options.filter);
  const results: ScenarioResult[][] = [];
  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 3) }, async () => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift())
      results.push(await runGroup(group, gaps, options));
  });
  await Promise.all(workers);
  const order = new Map<string, number>();
  suite.files.forEach(({ data }) => data.scenarios.forEach((s) => order.set(s.id, order.size)));
  return results.flat().sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}
