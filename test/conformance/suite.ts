/**
 * Runs the MCP conformance suite's server scenarios (`@modelcontextprotocol/conformance`) against a URL
 * and reads back what each scenario checked.
 *
 * The suite needs Node >= 22; the `node` dev dependency provides it as `node_modules/.bin/node`. The
 * suite writes one `checks.json` per scenario under an output folder; those files, not its console
 * output, are the source of truth here. A scenario passes when none of its checks is FAILURE or
 * WARNING (the suite's own rule for its baseline files).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NODE22 = path.join(ROOT, 'node_modules', '.bin', 'node');
export const CONFORMANCE_BIN = path.join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'conformance',
  'dist',
  'index.js',
);
export const EXPECTED_FAILURES_FILE = path.join(ROOT, 'test', 'conformance', 'expected-failures.yaml');

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface ConformanceCheck {
  id: string;
  name: string;
  status: CheckStatus;
  description?: string;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  checks: ConformanceCheck[];
  /** FAILURE and WARNING checks, as `name: message`. */
  problems: string[];
}

export interface SuiteRun {
  url: string;
  scenarios: ScenarioResult[];
  /** The suite's console output, for diagnostics. */
  output: string;
  exitCode: number | null;
}

export interface RunSuiteOptions {
  url: string;
  /** `active` (default: the suite's stable scenarios), `all` (adds pending ones) or one scenario id. */
  suite?: 'active' | 'all';
  scenario?: string;
  /**
   * The protocol revision to test (`--spec-version`): only scenarios whose window includes it run. A
   * scenario outside the window exits 0 without running, so results are read per scenario, never from the
   * exit code.
   */
  specVersion?: string;
  /** Kill the suite after this long (default 120 s). */
  timeoutMs?: number;
}

const CheckSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(['SUCCESS', 'FAILURE', 'WARNING', 'INFO', 'SKIPPED']),
  description: z.string().optional(),
  errorMessage: z.string().optional(),
});

/** True when Node 22 and the suite are installed. */
export function conformanceAvailable(): boolean {
  return existsSync(NODE22) && existsSync(CONFORMANCE_BIN);
}

export async function runConformanceSuite(options: RunSuiteOptions): Promise<SuiteRun> {
  const outputDir = await mkdtemp(path.join(tmpdir(), 'portcullis-conformance-'));
  try {
    const args = [CONFORMANCE_BIN, 'server', '--url', options.url, '--output-dir', outputDir];
    if (options.scenario !== undefined) args.push('--scenario', options.scenario);
    else args.push('--suite', options.suite ?? 'active');
    if (options.specVersion !== undefined) args.push('--spec-version', options.specVersion);
    const { output, exitCode } = await runNode22(args, options.timeoutMs ?? 120_000);
    const scenarios = await readResults(outputDir);
    return { url: options.url, scenarios, output, exitCode };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/** Output folders are named `server-<scenario>-<ISO time with : and . replaced>`. */
async function readResults(outputDir: string): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const entry of (await readdir(outputDir)).sort()) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
    if (match?.[1] === undefined) continue;
    const file = path.join(outputDir, entry, 'checks.json');
    const checks = z.array(CheckSchema).parse(JSON.parse(await readFile(file, 'utf8'))) as ConformanceCheck[];
    const problems = checks
      .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
      .map((c) => `${c.status} ${c.name}${c.errorMessage !== undefined ? `: ${c.errorMessage}` : ''}`);
    results.push({ scenario: match[1], passed: problems.length === 0 && checks.length > 0, checks, problems });
  }
  return results;
}

function runNode22(args: string[], timeoutMs: number): Promise<{ output: string; exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE22, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ output, exitCode: code });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Expected failures: scenarios that cannot pass through a gateway, each with its reason.

const EntriesSchema = z
  .array(
    z.object({ scenario: z.string().min(1), reason: z.string().min(10, 'say why the scenario cannot pass') }).strict(),
  )
  .default([]);

/**
 * `server`: scenarios at protocol revision 2025-11-25; `server-2026-07-28`: at 2026-07-28 (the suite's `all`
 * set at that `--spec-version`).
 */
const ExpectedFailuresSchema = z.object({ server: EntriesSchema, 'server-2026-07-28': EntriesSchema }).strict();

export type ExpectedFailures = { server: { scenario: string; reason: string }[] };
export type ExpectedFailuresFile = z.infer<typeof ExpectedFailuresSchema>;
export type Revision = 'server' | 'server-2026-07-28';

export async function loadExpectedFailures(
  file = EXPECTED_FAILURES_FILE,
  revision: Revision = 'server',
): Promise<ExpectedFailures> {
  const parsed = ExpectedFailuresSchema.parse(parse(await readFile(file, 'utf8')) ?? {});
  const entries = parsed[revision];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.scenario)) throw new Error(`expected-failures: ${entry.scenario} is listed twice`);
    seen.add(entry.scenario);
  }
  return { server: entries };
}

export interface Verdict {
  passed: string[];
  /** Failed and listed as expected. */
  expectedFailures: string[];
  /** Failed but not listed: a regression. */
  unexpectedFailures: string[];
  /** Listed as expected to fail but passed: the list is stale. */
  unexpectedPasses: string[];
  /** Listed, but the suite did not run it (renamed or removed scenario, or filtered out). */
  notRun: string[];
  ok: boolean;
}

export function judge(run: SuiteRun, expected: ExpectedFailures): Verdict {
  const listed = new Set(expected.server.map((e) => e.scenario));
  const ran = new Set(run.scenarios.map((s) => s.scenario));
  const verdict: Verdict = {
    passed: [],
    expectedFailures: [],
    unexpectedFailures: [],
    unexpectedPasses: [],
    notRun: [],
    ok: false,
  };
  for (const s of run.scenarios) {
    if (s.passed) (listed.has(s.scenario) ? verdict.unexpectedPasses : verdict.passed).push(s.scenario);
    else (listed.has(s.scenario) ? verdict.expectedFailures : verdict.unexpectedFailures).push(s.scenario);
  }
  verdict.notRun = [...listed].filter((id) => !ran.has(id));
  verdict.ok =
    run.scenarios.length > 0 &&
    verdict.unexpectedFailures.length === 0 &&
    verdict.unexpectedPasses.length === 0 &&
    verdict.notRun.length === 0;
  return verdict;
}

/** A readable report of one run. */
export function formatRun(run: SuiteRun, verdict?: Verdict, expected?: ExpectedFailures): string {
  const reasons = new Map(expected?.server.map((e) => [e.scenario, e.reason]) ?? []);
  const lines = [
    `Conformance against ${run.url}: ${run.scenarios.filter((s) => s.passed).length}/${run.scenarios.length} scenarios passed`,
  ];
  for (const s of run.scenarios) {
    const mark = s.passed ? 'pass' : reasons.has(s.scenario) ? 'xfail' : 'FAIL';
    lines.push(`  ${mark.padEnd(5)} ${s.scenario}`);
    if (!s.passed) for (const p of s.problems) lines.push(`          ${p}`);
    if (!s.passed && reasons.has(s.scenario)) lines.push(`          expected: ${reasons.get(s.scenario)}`);
  }
  if (verdict !== undefined) {
    if (verdict.unexpectedFailures.length > 0)
      lines.push(`Unexpected failures: ${verdict.unexpectedFailures.join(', ')}`);
    if (verdict.unexpectedPasses.length > 0)
      lines.push(`Listed as expected failures but passed (remove them): ${verdict.unexpectedPasses.join(', ')}`);
    if (verdict.notRun.length > 0) lines.push(`Listed but not run: ${verdict.notRun.join(', ')}`);
    lines.push(verdict.ok ? 'Result: OK' : 'Result: FAILED');
  }
  return lines.join('\n');
}
