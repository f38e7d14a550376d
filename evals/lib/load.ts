/**
 * Read and validate the suite: profiles, scenario files and known gaps. Everything is checked before any
 * server starts, so a bad file fails with its path and the key at fault, not halfway through a run.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  CATEGORIES,
  KnownGapsSchema,
  ProfileSchema,
  TaxonomySchema,
  type Taxonomy,
  ScenarioFileSchema,
  type KnownGap,
  type Profile,
  type Scenario,
  type ScenarioFile,
} from './schema.js';

export class SuiteLoadError extends Error {
  override readonly name = 'SuiteLoadError';
  readonly code = 'EVAL_SUITE_INVALID';
}

export interface LoadedScenarioFile {
  /** Path relative to the suite root, e.g. `scenarios/identity/task-tokens.yaml`. */
  file: string;
  data: ScenarioFile;
}

export interface LoadedSuite {
  root: string;
  profiles: Map<string, Profile>;
  files: LoadedScenarioFile[];
  gaps: KnownGap[];
  taxonomy: Taxonomy;
}

function problems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(full)));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** A step that sends something an agent controls: the ones an attack's verdict rests on. */
function sendsRequest(step: Scenario['steps'][number]): boolean {
  return step.do === 'call' || step.do === 'http';
}

function hasBackendCheck(step: Scenario['steps'][number]): boolean {
  return (
    (step.do === 'call' || step.do === 'http') &&
    step.expect.backends !== undefined &&
    Object.keys(step.expect.backends).length > 0
  );
}

type RequestStep = Extract<Scenario['steps'][number], { do: 'call' | 'http' }>;

function succeeds(step: RequestStep): boolean {
  return step.do === 'call' ? step.expect.ok === true : step.expect.status === 200;
}

/** A successful request after which some backend is expected to have received at least one request. */
function reachesBackend(step: RequestStep): boolean {
  return (
    succeeds(step) &&
    Object.values(step.expect.backends ?? {}).some((want) =>
      typeof want === 'number' ? want > 0 : (want.count ?? 0) > 0 || (want.atLeast ?? 0) > 0,
    )
  );
}

/**
 * What makes a scenario's verdict mean something, as messages for each breach:
 * - an attack's refusals name their outcome: a call refused says which stable code (or JSON-RPC error) the
 *   agent gets, an HTTP request says which status; "some error" never passes;
 * - an attack's final request says what every backend of its environment may have received: nothing, or an
 *   exact count of exactly described requests;
 * - a benign twin's successful requests say exactly what reached the backend (method, path and query, body;
 *   the tool and arguments for an upstream MCP server), and that no other backend was contacted.
 */
export function verdictProblems(scenario: Scenario, backendNames: readonly string[]): string[] {
  const out: string[] = [];
  const requests = scenario.steps
    .map((step, index) => ({ step, index }))
    .filter((s): s is { step: RequestStep; index: number } => sendsRequest(s.step));
  const last = requests.at(-1);
  for (const { step, index } of requests) {
    const e = step.expect;
    const where = `step ${index}`;
    if (scenario.kind === 'attack') {
      const call = step.do === 'call' ? step.expect : undefined;
      if (call !== undefined && call.ok !== true && call.code === undefined && call.rpcError === undefined)
        out.push(`${where}: a refused call must name its code or rpcError`);
      if (step.do === 'http' && step.expect.status === undefined)
        out.push(`${where}: an HTTP request must name its exact status`);
      if (
        step.do === 'http' &&
        step.expect.noResult === true &&
        step.expect.status === 200 &&
        step.expect.rpcError === undefined
      )
        out.push(`${where}: a JSON-RPC error answer must name its rpcError`);
    }
    const exact = scenario.kind === 'benign' && succeeds(step);
    if (index !== last?.index && !exact) continue;
    const backends = e.backends ?? {};
    for (const name of backendNames) {
      const want = backends[name];
      if (want === undefined) {
        out.push(`${where}: must say what backend ${name} received (0 if nothing)`);
        continue;
      }
      if (typeof want === 'number') {
        if (exact && want > 0) out.push(`${where}: backend ${name}: a count alone does not say what was received`);
        continue;
      }
      if (want.atLeast !== undefined) out.push(`${where}: backend ${name}: atLeast is not an exact outcome`);
      if (want.count === undefined && want.background === undefined)
        out.push(`${where}: backend ${name}: name the exact count`);
      if (want.background !== undefined && (want.method === undefined || want.url === undefined))
        out.push(`${where}: backend ${name}: background traffic must name the method and url it is limited to`);
      if (exact && (want.count ?? 0) > 0) {
        const described = want.tool !== undefined || (want.method !== undefined && want.url !== undefined);
        if (!described || want.body === undefined)
          out.push(`${where}: backend ${name}: a benign request names method, url and body (or tool and body)`);
      }
    }
  }
  // A benign twin shows the legitimate request getting through, so it must reach a backend (and the rules
  // above then make it say exactly what arrived); a twin that only opens a session or is refused proves nothing.
  if (scenario.kind === 'benign' && scenario.twin !== undefined && !requests.some(({ step }) => reachesBackend(step)))
    out.push('a benign twin must succeed with a request that reaches a backend');
  return out;
}

/** What the twin rules need of a scenario: its id, kind, the twin it names and the file it is in. */
export interface TwinLink {
  id: string;
  kind: 'attack' | 'benign';
  twin?: string | undefined;
  file: string;
}

/**
 * Twins pair 1:1: every attack names a benign twin of its own, and that twin names the attack back, so no
 * benign scenario stands in for several attacks. A benign scenario may stand alone (it names no twin); if it
 * names one, the pairing must hold from both sides.
 */
export function twinProblems(scenarios: readonly TwinLink[]): string[] {
  const byId = new Map(scenarios.map((s) => [s.id, s]));
  const out: string[] = [];
  for (const scenario of scenarios) {
    const { file, id } = scenario;
    if (scenario.twin === undefined) {
      if (scenario.kind === 'attack') out.push(`${file}: attack ${id} has no benign twin`);
      continue;
    }
    const twin = byId.get(scenario.twin);
    if (twin === undefined) {
      out.push(`${file}: ${id} names twin ${scenario.twin}, which does not exist`);
      continue;
    }
    if (twin.kind === scenario.kind) {
      out.push(`${file}: ${id} and its twin ${scenario.twin} are both ${scenario.kind}`);
      continue;
    }
    if (twin.twin !== id)
      out.push(
        `${file}: ${id} names twin ${twin.id}, but ${twin.id} names ${twin.twin ?? 'no twin'}: twins pair one to one`,
      );
  }
  return out;
}

export async function loadSuite(root: string): Promise<LoadedSuite> {
  const profiles = new Map<string, Profile>();
  for (const file of await yamlFiles(path.join(root, 'profiles'))) {
    const parsed = ProfileSchema.safeParse(parse(await readFile(file, 'utf8')));
    if (!parsed.success) throw new SuiteLoadError(`${path.relative(root, file)}: ${problems(parsed.error)}`);
    if (profiles.has(parsed.data.name))
      throw new SuiteLoadError(`${path.relative(root, file)}: profile ${parsed.data.name} defined twice`);
    profiles.set(parsed.data.name, parsed.data);
  }

  const files: LoadedScenarioFile[] = [];
  const byId = new Map<string, { scenario: Scenario; file: string }>();
  for (const full of await yamlFiles(path.join(root, 'scenarios'))) {
    const file = path.relative(root, full);
    const parsed = ScenarioFileSchema.safeParse(parse(await readFile(full, 'utf8')));
    if (!parsed.success) throw new SuiteLoadError(`${file}: ${problems(parsed.error)}`);
    const data = parsed.data;
    if (path.basename(path.dirname(full)) !== data.category)
      throw new SuiteLoadError(`${file}: category ${data.category} does not match its folder`);
    if (data.profile !== undefined && !profiles.has(data.profile))
      throw new SuiteLoadError(`${file}: unknown profile ${data.profile}`);
    for (const scenario of data.scenarios) {
      if (byId.has(scenario.id))
        throw new SuiteLoadError(`${file}: scenario id ${scenario.id} is also used in ${byId.get(scenario.id)?.file}`);
      byId.set(scenario.id, { scenario, file });
      if (scenario.kind === 'attack' && !scenario.steps.some(hasBackendCheck)) {
        throw new SuiteLoadError(`${file}: attack ${scenario.id} never checks what the backends received`);
      }
      if (!scenario.steps.some(sendsRequest))
        throw new SuiteLoadError(`${file}: scenario ${scenario.id} sends no request`);
      const setup = data.profile !== undefined ? profiles.get(data.profile) : data.setup;
      const breaches = verdictProblems(scenario, Object.keys(setup?.backends ?? {}));
      if (breaches.length > 0) throw new SuiteLoadError(`${file}: ${scenario.id}: ${breaches.join('; ')}`);
    }
    files.push({ file, data });
  }
  const twinBreaches = twinProblems([...byId.values()].map(({ scenario, file }) => ({ ...scenario, file })));
  if (twinBreaches.length > 0) throw new SuiteLoadError(twinBreaches.join('; '));

  const gapsText = await readFile(path.join(root, 'known-gaps.yaml'), 'utf8').catch(() => 'gaps: []');
  const gapsParsed = KnownGapsSchema.safeParse(parse(gapsText) ?? { gaps: [] });
  if (!gapsParsed.success) throw new SuiteLoadError(`known-gaps.yaml: ${problems(gapsParsed.error)}`);
  for (const gap of gapsParsed.data.gaps) {
    if (!byId.has(gap.id)) throw new SuiteLoadError(`known-gaps.yaml: ${gap.id} is not a scenario`);
  }
  const taxonomyParsed = TaxonomySchema.safeParse(parse(await readFile(path.join(root, 'taxonomy.yaml'), 'utf8')));
  if (!taxonomyParsed.success) throw new SuiteLoadError(`taxonomy.yaml: ${problems(taxonomyParsed.error)}`);
  const unmapped = CATEGORIES.filter((c) => taxonomyParsed.data.categories[c] === undefined);
  if (unmapped.length > 0) throw new SuiteLoadError(`taxonomy.yaml: categories not mapped: ${unmapped.join(', ')}`);
  return { root, profiles, files, gaps: gapsParsed.data.gaps, taxonomy: taxonomyParsed.data };
}
