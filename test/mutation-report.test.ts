/**
 * The mutation report: scores per module from Stryker's JSON report, equivalent survivors matched by their
 * code, and the mutated files and the report's areas kept in step with stryker.config.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  AREAS,
  loadEquivalents,
  originalText,
  renderMarkdown,
  summarise,
  targetShortfalls,
  unexplainedDisables,
  type MutationReport,
  type ReportMutant,
} from '../scripts/mutation-report.js';

const ROOT = path.resolve(import.meta.dirname, '..');

const mutant = (
  id: string,
  status: ReportMutant['status'],
  line: number,
  start: number,
  end: number,
  replacement: string,
): ReportMutant => ({
  id,
  mutatorName: 'EqualityOperator',
  replacement,
  status,
  location: { start: { line, column: start }, end: { line, column: end } },
});

const SOURCE = 'const a = 1;\nif (a === 1) go();\n';
const report: MutationReport = {
  files: {
    'gateway/edges/mcp/session.ts': {
      source: SOURCE,
      mutants: [
        mutant('1', 'Killed', 2, 5, 12, 'a !== 1'),
        mutant('2', 'Timeout', 2, 5, 12, 'true'),
        mutant('3', 'Survived', 2, 5, 12, 'a >= 1'),
        mutant('4', 'Survived', 2, 5, 12, 'a <= 1'),
        mutant('5', 'NoCoverage', 2, 5, 12, 'false'),
        mutant('6', 'CompileError', 2, 5, 12, 'a ===== 1'),
        mutant('7', 'Ignored', 2, 5, 12, 'x'),
      ],
    },
  },
};

describe('mutation report', () => {
  it('scores (killed + timed out) / valid, per module, area and core', () => {
    const summary = summarise(report, []);
    const area = summary.areas.find((a) => a.area === 'Authentication and session binding')!;
    const module = area.modules.find((m) => m.file === 'gateway/edges/mcp/session.ts')!;
    assert.deepEqual(
      { ...module },
      { file: module.file, killed: 1, timeout: 1, survived: 2, noCoverage: 1, equivalent: 0, valid: 5, score: 40 },
    );
    assert.equal(area.total.score, 40);
    assert.equal(summary.total.valid, 5);
    assert.equal(summary.total.score, 40);
    assert.equal(summary.areas.find((a) => a.area === 'Path building')!.total.score, undefined);
    assert.deepEqual(summary.unassigned, []);
  });

  it('--check names every shortfall: a score under the target, modules not run, stale figures', () => {
    const summary = summarise(report, []);
    const shortfalls = targetShortfalls(summary);
    assert.ok(shortfalls.includes('the security core scores 40.0%, below the target of 85%'), shortfalls.join('\n'));
    assert.ok(shortfalls.includes('connectors/http/path.ts: not run'));
    const met = targetShortfalls({
      ...summary,
      total: { ...summary.total, score: 85 },
      notRun: [],
      staleSources: [],
      staleTests: [],
    });
    assert.deepEqual(met, []);
    const stale = targetShortfalls({
      ...summary,
      total: { ...summary.total, score: 90 },
      notRun: [],
      staleSources: ['gateway/kernel/host.ts'],
      staleTests: ['gateway/kernel/host.test.ts'],
    });
    assert.deepEqual(stale, [
      'gateway/kernel/host.ts: changed since its mutants were run',
      'test gateway/kernel/host.test.ts: changed since the run',
    ]);
  });

  it('shows a survivor listed with its reason as equivalent, matched on file, mutator and code', () => {
    const summary = summarise(report, [
      {
        file: 'gateway/edges/mcp/session.ts',
        mutator: 'EqualityOperator',
        original: 'a  ===  1',
        replacement: 'a >= 1',
        in: 'if (a === 1)',
        reason: 'a is never more than one here, so the two conditions agree',
      },
    ]);
    assert.deepEqual(
      summary.survivors.map((s) => [s.replacement, s.equivalent !== undefined]),
      [
        ['a >= 1', true],
        ['a <= 1', false],
      ],
    );
    const markdown = renderMarkdown(summary);
    assert.match(
      markdown,
      /\| `gateway\/edges\/mcp\/session.ts:2` \| EqualityOperator \| `a === 1` \| `a >= 1` \| a is never/,
    );
    assert.match(markdown, /## Survivors not yet killed[\s\S]*`a <= 1`/);
    assert.match(markdown, /\*\*Security core: 40\.0%\*\*/);
  });

  it('reads the text a mutant replaces, across lines too', () => {
    assert.equal(originalText(SOURCE, mutant('x', 'Killed', 2, 5, 12, '')), 'a === 1');
    const multi = {
      ...mutant('y', 'Killed', 1, 6, 0, ''),
      location: { start: { line: 1, column: 7 }, end: { line: 2, column: 3 } },
    };
    assert.equal(originalText(SOURCE, multi), 'a = 1;\nif');
  });

  it('keeps the areas and stryker.config.json in step, and every disable comment explained', () => {
    const config = JSON.parse(readFileSync(path.join(ROOT, 'stryker.config.json'), 'utf8')) as { mutate: string[] };
    assert.deepEqual([...config.mutate].sort(), AREAS.flatMap((a) => a.files).sort());
    assert.deepEqual(unexplainedDisables(ROOT), []);
    loadEquivalents(path.join(ROOT, 'docs', 'mutation-equivalents.yaml'));
  });
});
