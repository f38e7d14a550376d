/**
 * The scorecard: per category, attacks stopped (every expectation held, including that the harmful request
 * never reached the backend) and benign twins allowed; plus the known gaps with their reasons. The gate
 * passes when every attack is stopped and every benign scenario allowed, known gaps excluded.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CORPUS_TARGETS, type CorpusScore } from '../integrity/corpus.js';
import { CATEGORIES, type Taxonomy } from './schema.js';
import type { ScenarioResult } from './suite.js';

/** Figures of the tool-integrity corpus (evals/integrity): the gate reads the test half only. */
export interface CorpusFigures {
  half: CorpusScore['half'];
  samples: number;
  poisoned: number;
  benign: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  precision: number;
  recall: number;
  missed: string[];
  falseAlarms: string[];
}

export interface IntegrityCorpusCard {
  targets: typeof CORPUS_TARGETS;
  test: CorpusFigures;
  dev: CorpusFigures;
  /** Test half at or above both targets. */
  passed: boolean;
}

export function integrityCorpusCard(test: CorpusScore, dev: CorpusScore): IntegrityCorpusCard {
  const figures = ({ verdicts: _verdicts, ...rest }: CorpusScore): CorpusFigures => rest;
  return {
    targets: CORPUS_TARGETS,
    test: figures(test),
    dev: figures(dev),
    passed: test.precision >= CORPUS_TARGETS.precision && test.recall >= CORPUS_TARGETS.recall,
  };
}

export interface CategoryScore {
  category: string;
  attacks: number;
  stopped: number;
  benign: number;
  allowed: number;
  knownGaps: number;
  /** Scenarios that needed the eval network namespace and ran outside it (left out of the counts). */
  notRun: number;
}

export interface Scorecard {
  generatedAt: string;
  totals: CategoryScore & { scenarios: number };
  categories: CategoryScore[];
  gate: { passed: boolean; failures: { id: string; kind: string; message: string }[] };
  knownGaps: { id: string; kind: string; reason: string; nowPasses: boolean }[];
  notRun: string[];
  /** Each category's OWASP MCP Top 10 ids and attack classes (evals/taxonomy.yaml). */
  taxonomy?: Taxonomy;
  /** Seed of the run's randomised literals. */
  seed?: number;
  /** Precision and recall of tool-definition analysis on the integrity corpus, when it was measured. */
  integrityCorpus?: IntegrityCorpusCard;
  scenarios: ScenarioResult[];
}

/**
 * `requireAll` (CI): a scenario that did not run (outside the eval network namespace) fails the gate;
 * otherwise it is left out of the counts and listed.
 */
export function buildScorecard(
  results: readonly ScenarioResult[],
  options: {
    now?: Date;
    integrityCorpus?: IntegrityCorpusCard;
    requireAll?: boolean;
    taxonomy?: Taxonomy;
    seed?: number;
  } = {},
): Scorecard {
  const now = options.now ?? new Date();
  const skipped = (r: ScenarioResult): boolean => r.notRun !== undefined && options.requireAll !== true;
  const categories: CategoryScore[] = [];
  for (const category of CATEGORIES) {
    const inCategory = results.filter((r) => r.category === category);
    if (inCategory.length === 0) continue;
    const counted = inCategory.filter((r) => r.knownGap === undefined && !skipped(r));
    categories.push({
      category,
      attacks: counted.filter((r) => r.kind === 'attack').length,
      stopped: counted.filter((r) => r.kind === 'attack' && r.passed).length,
      benign: counted.filter((r) => r.kind === 'benign').length,
      allowed: counted.filter((r) => r.kind === 'benign' && r.passed).length,
      knownGaps: inCategory.filter((r) => r.knownGap !== undefined).length,
      notRun: inCategory.filter(skipped).length,
    });
  }
  const sum = (key: keyof Omit<CategoryScore, 'category'>): number => categories.reduce((n, c) => n + c[key], 0);
  const failures: Scorecard['gate']['failures'] = results
    .filter((r) => r.knownGap === undefined && !r.passed && !skipped(r))
    .map((r) => ({
      id: r.id,
      kind: r.kind,
      message: `step ${r.failure?.step ?? '?'}: ${r.failure?.message ?? 'failed'}`,
    }));
  if (options.integrityCorpus !== undefined && !options.integrityCorpus.passed) {
    const { test, targets } = options.integrityCorpus;
    failures.push({
      id: 'integrity-corpus/test-half',
      kind: 'corpus',
      message: `precision ${test.precision} (target ${targets.precision}), recall ${test.recall} (target ${targets.recall}); missed: ${test.missed.join(', ') || '-'}; false alarms: ${test.falseAlarms.join(', ') || '-'}`,
    });
  }
  return {
    generatedAt: now.toISOString(),
    totals: {
      category: 'all',
      scenarios: results.length,
      attacks: sum('attacks'),
      stopped: sum('stopped'),
      benign: sum('benign'),
      allowed: sum('allowed'),
      knownGaps: sum('knownGaps'),
      notRun: sum('notRun'),
    },
    categories,
    gate: { passed: failures.length === 0 && results.length > 0, failures },
    notRun: results.filter(skipped).map((r) => r.id),
    ...(options.taxonomy !== undefined ? { taxonomy: options.taxonomy } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    knownGaps: results
      .filter((r) => r.knownGap !== undefined)
      .map((r) => ({ id: r.id, kind: r.kind, reason: r.knownGap!, nowPasses: r.passed })),
    ...(options.integrityCorpus !== undefined ? { integrityCorpus: options.integrityCorpus } : {}),
    scenarios: [...results],
  };
}

function owasp(card: Scorecard, category: string): string {
  const entry = card.taxonomy?.categories[category as keyof Taxonomy['categories']];
  if (entry === undefined) return '-';
  return entry.owaspMcp.length > 0 ? entry.owaspMcp.join(', ') : 'none';
}

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${Math.floor((1000 * n) / d) / 10}%`);

export function scorecardMarkdown(card: Scorecard): string {
  const lines = [
    '# Eval scorecard',
    '',
    'Generated by `npm run evals` (see [docs/evals.md](../docs/evals.md)). An attack counts as stopped when every',
    'expectation of its scenario held, including what the fixture backends recorded: the harmful request never',
    'reached them. A benign twin counts as allowed when it succeeded and the backend received what it should.',
    'Known gaps are listed below and left out of the counts and the gate.',
    '',
    `Gate: **${card.gate.passed ? 'PASS' : 'FAIL'}** - ${card.totals.scenarios} scenarios, attacks stopped ${card.totals.stopped}/${card.totals.attacks} (${pct(card.totals.stopped, card.totals.attacks)}), benign allowed ${card.totals.allowed}/${card.totals.benign} (${pct(card.totals.allowed, card.totals.benign)}), known gaps ${card.totals.knownGaps}.`,
    '',
    '| category | OWASP MCP Top 10 | attacks stopped | benign allowed | known gaps |',
    '| --- | --- | --- | --- | --- |',
    ...card.categories.map(
      (c) =>
        `| ${c.category} | ${owasp(card, c.category)} | ${c.stopped}/${c.attacks} (${pct(c.stopped, c.attacks)}) | ${c.allowed}/${c.benign} (${pct(c.allowed, c.benign)}) | ${c.knownGaps} |`,
    ),
    '',
  ];
  if (card.notRun.length > 0) {
    lines.push(
      '## Not run',
      '',
      'These need the eval network namespace (`npm run evals` as root creates it):',
      '',
      ...card.notRun.map((id) => `- \`${id}\``),
      '',
    );
  }
  if (card.gate.failures.length > 0) {
    lines.push(
      '## Failures',
      '',
      ...card.gate.failures.map((f) => `- \`${f.id}\` (${f.kind}): ${f.message.replace(/\n/g, ' ')}`),
      '',
    );
  }
  if (card.taxonomy !== undefined) {
    lines.push(
      '## Taxonomy',
      '',
      'Attack classes per category ([taxonomy.yaml](taxonomy.yaml)); each scenario cites its source below.',
      '',
    );
    for (const c of card.categories) {
      const entry = card.taxonomy.categories[c.category as keyof Taxonomy['categories']];
      if (entry !== undefined)
        lines.push(
          `- **${c.category}**: ${entry.classes.join('; ')}${entry.note !== undefined ? ` (${entry.note})` : ''}`,
        );
    }
    lines.push('');
  }
  if (card.integrityCorpus !== undefined) lines.push(...corpusMarkdown(card.integrityCorpus));
  lines.push('## Known gaps', '');
  if (card.knownGaps.length === 0) lines.push('None.', '');
  else
    lines.push(
      ...card.knownGaps.map(
        (g) =>
          `- \`${g.id}\` (${g.kind}): ${g.reason.trim()}${g.nowPasses ? ' _(now passes: remove it from known-gaps.yaml)_' : ''}`,
      ),
      '',
    );
  lines.push('## Scenarios', '', '| id | kind | result | source |', '| --- | --- | --- | --- |');
  for (const r of card.scenarios) {
    const result =
      r.knownGap !== undefined ? 'known gap' : r.passed ? (r.kind === 'attack' ? 'stopped' : 'allowed') : 'FAILED';
    lines.push(`| \`${r.id}\` | ${r.kind} | ${result} | ${r.source.replace(/\|/g, '/')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function corpusMarkdown(corpus: IntegrityCorpusCard): string[] {
  const row = (name: string, f: CorpusFigures): string =>
    `| ${name} | ${f.samples} (${f.poisoned} poisoned, ${f.benign} benign) | ${f.precision.toFixed(3)} | ${f.recall.toFixed(3)} | ${f.truePositives} | ${f.falsePositives} | ${f.falseNegatives} | ${f.trueNegatives} |`;
  return [
    '## Tool-definition analysis (integrity corpus)',
    '',
    'Poisoned and reference tool definitions in [evals/integrity](integrity/README.md), judged as a new tool is on',
    'first sight; "flagged" (held under the default `integrity.firstSight: quarantine-flagged`) against the label.',
    `The gate reads the held-out test half: precision >= ${corpus.targets.precision} and recall >= ${corpus.targets.recall}`,
    `(**${corpus.passed ? 'met' : 'NOT met'}**). The development half is the only one the analysis was tuned on.`,
    '',
    '| half | samples | precision | recall | true pos. | false pos. | false neg. | true neg. |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    row('test (held out)', corpus.test),
    row('development', corpus.dev),
    '',
    `Test half: missed ${corpus.test.missed.map((id) => `\`${id}\``).join(', ') || 'none'}; false alarms ${corpus.test.falseAlarms.map((id) => `\`${id}\``).join(', ') || 'none'}.`,
    '',
  ];
}

/** Write `out/scorecard.json` and `SCORECARD.md` under the suite root. */
export async function writeScorecard(root: string, card: Scorecard): Promise<void> {
  await mkdir(path.join(root, 'out'), { recursive: true });
  await writeFile(path.join(root, 'out', 'scorecard.json'), `${JSON.stringify(card, null, 2)}\n`);
  await writeFile(path.join(root, 'SCORECARD.md'), scorecardMarkdown(card));
}
