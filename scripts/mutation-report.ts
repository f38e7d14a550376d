/**
 * `npm run mutation` (second half): turns Stryker's JSON report (reports/mutation/mutation.json) into
 * docs/mutation.md, the score per module of the security core.
 *
 *   node --import tsx scripts/mutation-report.ts [--report FILE] [--out FILE]
 *
 * Score = (killed + timed out) / valid mutants, where valid = killed + timed out + survived + no coverage
 * (mutants that do not compile or crash the runtime, and mutants disabled by a `// Stryker disable` comment,
 * are not valid). A survivor listed in docs/mutation-equivalents.yaml, with the reason it cannot be killed,
 * is shown as equivalent; it still counts as survived in the score. Every other survivor is listed as
 * "not yet killed". Exits 1 when a mutant is disabled in the code without a reason.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

/** The security core, area by area: every mutated file belongs to exactly one area. */
export const AREAS: readonly { area: string; files: readonly string[] }[] = [
  {
    area: 'Authentication and session binding',
    files: [
      'gateway/services/auth/authenticate.ts',
      'gateway/services/auth/authorization-header.ts',
      'gateway/services/auth/api-key-authenticator.ts',
      'gateway/services/auth/token-authenticator.ts',
      'gateway/services/auth/oauth-authenticator.ts',
      'gateway/services/auth/verified-tokens.ts',
      'gateway/edges/mcp/session.ts',
    ],
  },
  { area: 'Host and Origin checks', files: ['gateway/edges/http/host-origin.ts', 'gateway/kernel/host.ts'] },
  {
    area: 'Egress guard and address handling',
    files: [
      'gateway/services/egress/guard.ts',
      'gateway/services/egress/connect.ts',
      'gateway/services/egress/address.ts',
      'gateway/services/egress/redirect.ts',
      'policies/address.ts',
    ],
  },
  { area: 'Path building', files: ['connectors/http/path.ts'] },
  {
    area: 'Call hashing and grants',
    files: [
      'gateway/services/approvals/call-hash.ts',
      'gateway/services/approvals/grant-check.ts',
      'gateway/services/approvals/grants.ts',
    ],
  },
  { area: 'Decide and elevate', files: ['gateway/pipeline/decide.ts', 'gateway/pipeline/elevate.ts'] },
  {
    area: 'Credential issue and verify',
    files: [
      'gateway/services/credentials/issuer.ts',
      'gateway/services/credentials/backend-credentials.ts',
      'gateway/verify/call-verifier.ts',
      'gateway/verify/claims.ts',
      'gateway/verify/jose-verdict.ts',
    ],
  },
  {
    area: 'Audit chain and verify',
    files: ['gateway/kernel/canonical-json.ts', 'gateway/services/audit/chain.ts', 'gateway/services/audit/verify.ts'],
  },
  {
    area: 'Revocation and task checks',
    files: ['gateway/services/tasks/task-state.ts', 'gateway/pipeline/steps/task-state.ts'],
  },
];

export const TARGET_SCORE = 85;

const MutantSchema = z.object({
  id: z.string(),
  mutatorName: z.string(),
  replacement: z.string().optional(),
  status: z.enum(['Killed', 'Survived', 'NoCoverage', 'Timeout', 'CompileError', 'RuntimeError', 'Ignored', 'Pending']),
  statusReason: z.string().optional(),
  location: z.object({
    start: z.object({ line: z.number(), column: z.number() }),
    end: z.object({ line: z.number(), column: z.number() }),
  }),
});
export type ReportMutant = z.infer<typeof MutantSchema>;

const ReportSchema = z.object({
  projectRoot: z.string().optional(),
  files: z.record(z.string(), z.object({ source: z.string(), mutants: z.array(MutantSchema) })),
  testFiles: z.record(z.string(), z.object({ source: z.string().optional() })).optional(),
});
export type MutationReport = z.infer<typeof ReportSchema>;

const EquivalentSchema = z
  .object({
    file: z.string().min(1),
    mutator: z.string().min(1),
    /** The source text the mutant replaces (whitespace runs compare as one space). */
    original: z.string(),
    replacement: z.string(),
    /** Text of the source line the mutant starts on (a part of it is enough): tells apart equal mutants. */
    in: z.string().min(1),
    /** Why no test can tell the mutant from the original program. */
    reason: z.string().trim().min(20, 'an equivalent mutant needs the reason it cannot be killed'),
  })
  .strict();
export type Equivalent = z.infer<typeof EquivalentSchema>;

export function loadEquivalents(file: string): Equivalent[] {
  const parsed = z.array(EquivalentSchema).safeParse(parse(readFileSync(file, 'utf8')) ?? []);
  if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The source text a mutant replaces (locations are 1-based lines and columns, end exclusive). */
export function originalText(source: string, mutant: ReportMutant): string {
  const lines = source.split('\n');
  const { start, end } = mutant.location;
  if (start.line === end.line) return lines[start.line - 1]!.slice(start.column - 1, end.column - 1);
  return [
    lines[start.line - 1]!.slice(start.column - 1),
    ...lines.slice(start.line, end.line - 1),
    lines[end.line - 1]!.slice(0, end.column - 1),
  ].join('\n');
}

export interface Survivor {
  file: string;
  line: number;
  mutator: string;
  original: string;
  replacement: string;
  equivalent?: Equivalent;
}

export interface ModuleScore {
  file: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  /** Survivors shown as equivalent (a subset of `survived`). */
  equivalent: number;
  valid: number;
  /** Percent, or undefined when the module has no valid mutant. */
  score: number | undefined;
}

export interface Summary {
  areas: { area: string; modules: ModuleScore[]; total: ModuleScore }[];
  total: ModuleScore;
  survivors: Survivor[];
  /** Files in the report that belong to no area (the report and AREAS disagree). */
  unassigned: string[];
  /** Modules of the core with no result in the report (not run yet). */
  notRun: string[];
  /** Source files whose results were computed on another version of the file. */
  staleSources: string[];
  /** Configured test files missing from the report or changed since it was written. */
  staleTests: string[];
}

export interface CurrentFiles {
  /** Current text of a repository file, undefined when it does not exist. */
  read(file: string): string | undefined;
  /** The test files stryker.config.json runs. */
  testFiles: readonly string[];
}

function tally(file: string, mutants: readonly ReportMutant[], equivalent: number): ModuleScore {
  const count = (status: ReportMutant['status']) => mutants.filter((m) => m.status === status).length;
  const killed = count('Killed');
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const valid = killed + timeout + survived + noCoverage;
  return {
    file,
    killed,
    timeout,
    survived,
    noCoverage,
    equivalent,
    valid,
    score: valid === 0 ? undefined : ((killed + timeout) / valid) * 100,
  };
}

function sum(file: string, scores: readonly ModuleScore[]): ModuleScore {
  const add = (key: 'killed' | 'timeout' | 'survived' | 'noCoverage' | 'equivalent' | 'valid') =>
    scores.reduce((total, s) => total + s[key], 0);
  const valid = add('valid');
  return {
    file,
    killed: add('killed'),
    timeout: add('timeout'),
    survived: add('survived'),
    noCoverage: add('noCoverage'),
    equivalent: add('equivalent'),
    valid,
    score: valid === 0 ? undefined : ((add('killed') + add('timeout')) / valid) * 100,
  };
}

export function summarise(report: MutationReport, equivalents: readonly Equivalent[], current?: CurrentFiles): Summary {
  const root = report.projectRoot;
  const relative = (name: string) =>
    (root !== undefined && path.isAbsolute(name) ? path.relative(root, name) : name).split(path.sep).join('/');
  const files = new Map(Object.entries(report.files).map(([name, file]) => [relative(name), file]));
  const reportedTests = new Map(Object.entries(report.testFiles ?? {}).map(([name, file]) => [relative(name), file]));
  const survivors: Survivor[] = [];
  const moduleScore = (name: string): ModuleScore => {
    const file = files.get(name);
    if (file === undefined) return tally(name, [], 0);
    let equivalent = 0;
    for (const mutant of file.mutants.filter((m) => m.status === 'Survived')) {
      const original = originalText(file.source, mutant);
      const replacement = mutant.replacement ?? mutant.mutatorName;
      const line = file.source.split('\n')[mutant.location.start.line - 1] ?? '';
      const match = equivalents.find(
        (e) =>
          e.file === name &&
          line.includes(e.in) &&
          e.mutator === mutant.mutatorName &&
          squash(e.original) === squash(original) &&
          squash(e.replacement) === squash(replacement),
      );
      if (match !== undefined) equivalent += 1;
      survivors.push({
        file: name,
        line: mutant.location.start.line,
        mutator: mutant.mutatorName,
        original,
        replacement,
        ...(match !== undefined ? { equivalent: match } : {}),
      });
    }
    return tally(name, file.mutants, equivalent);
  };
  const areas = AREAS.map(({ area, files: names }) => {
    const modules = names.map(moduleScore);
    return { area, modules, total: sum(area, modules) };
  });
  const assigned = new Set(AREAS.flatMap((a) => a.files));
  return {
    areas,
    total: sum(
      'Security core',
      areas.map((a) => a.total),
    ),
    survivors,
    unassigned: [...files.keys()].filter((name) => !assigned.has(name)).sort(),
    notRun: AREAS.flatMap((a) => a.files).filter((name) => (files.get(name)?.mutants.length ?? 0) === 0),
    staleSources:
      current === undefined
        ? []
        : [...files].filter(([name, file]) => current.read(name) !== file.source).map(([name]) => name),
    staleTests:
      current === undefined
        ? []
        : current.testFiles.filter((name) => {
            const reported = reportedTests.get(name);
            return reported?.source === undefined || reported.source !== current.read(name);
          }),
  };
}

/**
 * Why the report does not meet the target (`--check`): the core scores below TARGET_SCORE, or some of its
 * figures are missing or out of date, so the score would not describe the code as it is.
 */
export function targetShortfalls(summary: Summary): string[] {
  const out: string[] = [];
  const score = summary.total.score;
  if (score === undefined || score < TARGET_SCORE)
    out.push(`the security core scores ${percent(score)}, below the target of ${TARGET_SCORE}%`);
  for (const file of summary.notRun) out.push(`${file}: not run`);
  for (const file of summary.staleSources) out.push(`${file}: changed since its mutants were run`);
  for (const file of summary.staleTests) out.push(`test ${file}: changed since the run`);
  return out;
}

const percent = (score: number | undefined): string => (score === undefined ? 'n/a' : `${score.toFixed(1)}%`);
const code = (text: string): string => {
  const flat = squash(text);
  const short = flat.length > 90 ? `${flat.slice(0, 87)}...` : flat;
  return `\`${short.replaceAll('`', "'").replaceAll('|', '\\|')}\``;
};

function row(label: string, s: ModuleScore): string {
  return `| ${label} | ${s.valid} | ${s.killed} | ${s.timeout} | ${s.survived} | ${s.equivalent} | ${s.noCoverage} | ${percent(s.score)} |`;
}

export function renderMarkdown(summary: Summary): string {
  const out: string[] = [
    '# Mutation testing of the security core',
    '',
    '<!-- Written by `npm run mutation` (scripts/mutation-report.ts); do not edit by hand. -->',
    '',
    'StrykerJS mutates the modules below, one small change (a mutant) at a time, and runs the unit tests beside',
    'them against each mutant; a mutant the tests do not notice has *survived*. Score = (killed + timed out) /',
    'valid mutants (killed, timed out, survived and not covered by any test). Target: ' +
      `${TARGET_SCORE}% over the core. How to run it: [CONTRIBUTING.md](../CONTRIBUTING.md#mutation-testing).`,
    '',
    `**Security core: ${percent(summary.total.score)}** (${summary.total.killed + summary.total.timeout} of ` +
      `${summary.total.valid} valid mutants killed or timed out).`,
    '',
    '| Module | Valid | Killed | Timed out | Survived | of which equivalent | No coverage | Score |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { area, modules, total } of summary.areas) {
    out.push(row(`**${area}**`, total));
    for (const module of modules) out.push(row(`&nbsp;&nbsp;\`${module.file}\``, module));
  }
  out.push(row('**Security core**', summary.total), '');

  const stale = [
    ...summary.notRun.map((f) => `- \`${f}\`: not run yet.`),
    ...summary.staleSources.map((f) => `- \`${f}\`: changed since its mutants were run.`),
    ...summary.staleTests.map(
      (f) => `- test \`${f}\`: added or changed since this report; its kills are not counted yet.`,
    ),
  ];
  if (stale.length > 0)
    out.push(
      '## Not in these figures yet',
      '',
      'The next `npm run mutation` runs the mutants these concern (the report is incremental):',
      '',
      ...stale,
      '',
    );

  const equivalent = summary.survivors.filter((s) => s.equivalent !== undefined);
  out.push('## Equivalent mutants', '');
  if (equivalent.length === 0) out.push('None.', '');
  else {
    out.push(
      'Survivors that behave exactly like the original program, so no test can kill them (listed in',
      '[mutation-equivalents.yaml](mutation-equivalents.yaml)):',
      '',
      '| Where | Mutator | Original | Mutant | Why it is equivalent |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const s of equivalent)
      out.push(
        `| \`${s.file}:${s.line}\` | ${s.mutator} | ${code(s.original)} | ${code(s.replacement)} | ${squash(s.equivalent!.reason)} |`,
      );
    out.push('');
  }

  const open = summary.survivors.filter((s) => s.equivalent === undefined);
  out.push('## Survivors not yet killed', '');
  if (open.length === 0) out.push('None.', '');
  else {
    out.push(
      'Each of these is a change to the code that no unit test notices: a test to write (or, after',
      'analysis, an equivalent mutant to list with its reason).',
      '',
      '| Where | Mutator | Original | Mutant |',
      '| --- | --- | --- | --- |',
    );
    for (const s of open)
      out.push(`| \`${s.file}:${s.line}\` | ${s.mutator} | ${code(s.original)} | ${code(s.replacement)} |`);
    out.push('');
  }
  return `${out.join('\n')}`;
}

/** `// Stryker disable` comments without a reason (`: reason` after the mutators) in the mutated files. */
export function unexplainedDisables(root: string): string[] {
  const out: string[] = [];
  for (const file of AREAS.flatMap((a) => a.files)) {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
    lines.forEach((line, index) => {
      const comment = /\/\/\s*Stryker\s+(?:disable|restore)\b(.*)$/.exec(line);
      if (comment === null || /^\s*restore/.test(line.slice(line.indexOf('Stryker') + 7))) return;
      const reason = comment[1]!.split(':').slice(1).join(':').trim();
      if (reason.length < 10) out.push(`${file}:${index + 1}`);
    });
  }
  return out;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const option = (name: string, fallback: string) => {
    const at = process.argv.indexOf(name);
    return path.resolve(root, at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback);
  };
  const report = ReportSchema.parse(
    JSON.parse(readFileSync(option('--report', 'reports/mutation/mutation.json'), 'utf8')),
  );
  // Staleness is judged against the incremental report: it is what the next run compares the tests with.
  const incrementalFile = path.join(root, 'reports', 'mutation', 'incremental.json');
  if (existsSync(incrementalFile))
    report.testFiles = ReportSchema.parse(JSON.parse(readFileSync(incrementalFile, 'utf8'))).testFiles;
  const config = JSON.parse(readFileSync(path.join(root, 'stryker.config.json'), 'utf8')) as {
    tap: { testFiles: string[] };
  };
  const summary = summarise(report, loadEquivalents(path.join(root, 'docs', 'mutation-equivalents.yaml')), {
    read: (file) => {
      try {
        return readFileSync(path.join(root, file), 'utf8');
      } catch {
        return undefined;
      }
    },
    testFiles: config.tap.testFiles,
  });
  const out = option('--out', 'docs/mutation.md');
  writeFileSync(out, renderMarkdown(summary));
  console.log(`mutation score of the security core: ${percent(summary.total.score)} -> ${path.relative(root, out)}`);
  for (const { area, total } of summary.areas) console.log(`  ${area.padEnd(36)} ${percent(total.score)}`);
  let failed = false;
  if (summary.unassigned.length > 0) {
    console.error(`mutated files in no area of scripts/mutation-report.ts: ${summary.unassigned.join(', ')}`);
    failed = true;
  }
  const disables = unexplainedDisables(root);
  if (disables.length > 0) {
    console.error(`"// Stryker disable" without a reason (": why" after the mutators): ${disables.join(', ')}`);
    failed = true;
  }
  if (process.argv.includes('--check')) {
    const shortfalls = targetShortfalls(summary);
    for (const shortfall of shortfalls) console.error(`mutation target not met: ${shortfall}`);
    if (shortfalls.length > 0) failed = true;
  }
  if (failed) process.exit(1);
}
