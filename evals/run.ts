/**
 * `npm run evals`: run every scenario against real in-process gateways and fixture backends, write
 * `evals/out/scorecard.json` and `evals/SCORECARD.md`, and exit 1 when the gate fails (an attack not
 * stopped or a benign scenario not allowed, known gaps excluded, or the tool-integrity corpus's test half
 * below its precision or recall target; the corpus is measured on full runs, not with --only).
 *
 *   node --import tsx evals/run.ts [--only PREFIX] [--no-write]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpusHalf, scoreCorpus } from './integrity/corpus.js';
import { loadSuite } from './lib/load.js';
import { buildScorecard, integrityCorpusCard, writeScorecard } from './lib/scorecard.js';
import { runSuite } from './lib/suite.js';

const root = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;

const suite = await loadSuite(root);
const results = await runSuite(suite, only !== undefined ? { filter: (id) => id.startsWith(only) } : {});
const integrityCorpus =
  only === undefined
    ? integrityCorpusCard(
        scoreCorpus('test', await loadCorpusHalf('test')),
        scoreCorpus('dev', await loadCorpusHalf('dev')),
      )
    : undefined;
const card = buildScorecard(results, integrityCorpus !== undefined ? { integrityCorpus } : {});
if (!args.includes('--no-write') && only === undefined) await writeScorecard(root, card);

for (const c of card.categories) {
  console.log(
    `${c.category.padEnd(10)} attacks stopped ${c.stopped}/${c.attacks}  benign allowed ${c.allowed}/${c.benign}  known gaps ${c.knownGaps}`,
  );
}
console.log(
  `total      ${card.totals.scenarios} scenarios: attacks stopped ${card.totals.stopped}/${card.totals.attacks}, benign allowed ${card.totals.allowed}/${card.totals.benign}, known gaps ${card.totals.knownGaps}`,
);
if (integrityCorpus !== undefined)
  for (const half of [integrityCorpus.test, integrityCorpus.dev])
    console.log(
      `integrity corpus ${half.half}: precision ${half.precision} recall ${half.recall} (${half.poisoned} poisoned, ${half.benign} benign)`,
    );
for (const f of card.gate.failures) console.log(`FAIL ${f.id} (${f.kind}) ${f.message}`);
for (const g of card.knownGaps.filter((k) => k.nowPasses)) console.log(`known gap now passes: ${g.id}`);
console.log(`gate: ${card.gate.passed ? 'PASS' : 'FAIL'}`);
process.exitCode = card.gate.passed ? 0 : 1;
