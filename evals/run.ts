/**
 * `npm run evals`: run every scenario against real in-process gateways and fixture backends, write
 * `evals/out/scorecard.json` and `evals/SCORECARD.md`, and exit 1 when the gate fails (an attack not
 * stopped or a benign scenario not allowed, known gaps excluded, or the tool-integrity corpus's test half
 * below its precision or recall target; the corpus is measured on full runs, not with --only).
 *
 *   node --import tsx evals/run.ts [--only PREFIX] [--no-write] [--json-out FILE]
 *
 * Run as root, it re-runs itself inside a fresh eval network namespace (see lib/namespace.ts), where the
 * scenarios that need private and metadata addresses can run. Under CI=true a scenario that could not run
 * fails the gate.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFile } from 'node:fs/promises';
import { loadCorpusHalf, scoreCorpus } from './integrity/corpus.js';
import { loadSuite } from './lib/load.js';
import { runSeed, SEED_VARIABLE } from './lib/random.js';
import { canCreateEvalNamespace, inEvalNamespace, runInEvalNamespace } from './lib/namespace.js';
import { buildScorecard, integrityCorpusCard, writeScorecard } from './lib/scorecard.js';
import { runSuite } from './lib/suite.js';

const root = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;

if (!inEvalNamespace() && canCreateEvalNamespace()) {
  const inner = runInEvalNamespace(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args]);
  process.exit(inner.status ?? 1);
}
if (!inEvalNamespace())
  console.log('not root or no unshare: scenarios that need the eval network namespace are not run');

const seed = runSeed();
console.log(`eval seed ${seed} (${SEED_VARIABLE}=${seed} repeats this run)`);
const suite = await loadSuite(root);
const results = await runSuite(suite, { seed, ...(only !== undefined ? { filter: (id) => id.startsWith(only) } : {}) });
const integrityCorpus =
  only === undefined
    ? integrityCorpusCard(
        scoreCorpus('test', await loadCorpusHalf('test')),
        scoreCorpus('dev', await loadCorpusHalf('dev')),
      )
    : undefined;
const card = buildScorecard(results, {
  requireAll: process.env['CI'] === 'true',
  taxonomy: suite.taxonomy,
  seed,
  ...(integrityCorpus !== undefined ? { integrityCorpus } : {}),
});
const jsonIndex = args.indexOf('--json-out');
if (jsonIndex >= 0 && args[jsonIndex + 1] !== undefined)
  await writeFile(args[jsonIndex + 1]!, `${JSON.stringify(card, null, 2)}\n`);
if (!args.includes('--no-write') && only === undefined) await writeScorecard(root, card);

for (const c of card.categories) {
  console.log(
    `${c.category.padEnd(10)} attacks stopped ${c.stopped}/${c.attacks}  benign allowed ${c.allowed}/${c.benign}  known gaps ${c.knownGaps}`,
  );
}
console.log(
  `total      ${card.totals.scenarios} scenarios: attacks stopped ${card.totals.stopped}/${card.totals.attacks}, benign allowed ${card.totals.allowed}/${card.totals.benign}, known gaps ${card.totals.knownGaps}, not run ${card.totals.notRun}`,
);
if (integrityCorpus !== undefined)
  for (const half of [integrityCorpus.test, integrityCorpus.dev])
    console.log(
      `integrity corpus ${half.half}: precision ${half.precision} recall ${half.recall} (${half.poisoned} poisoned, ${half.benign} benign)`,
    );
for (const f of card.gate.failures) console.log(`FAIL ${f.id} (${f.kind}) ${f.message}`);
if (card.gate.failures.length > 0) console.log(`failed with eval seed ${seed}: rerun with ${SEED_VARIABLE}=${seed}`);
for (const g of card.knownGaps.filter((k) => k.nowPasses)) console.log(`known gap now passes: ${g.id}`);
console.log(`gate: ${card.gate.passed ? 'PASS' : 'FAIL'}`);
process.exitCode = card.gate.passed ? 0 : 1;
