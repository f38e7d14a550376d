/**
 * Tuning aid for the definition analysis: precision and recall on one half of the corpus. For the
 * development half it also prints every sample the analysis gets wrong, with its findings (`-v`: every
 * sample). The test half only ever prints its figures: it is held out, not tuned on.
 *
 *   node --import tsx evals/integrity/report.ts dev [-v]
 *   node --import tsx evals/integrity/report.ts test
 */
import { loadCorpusHalf, scoreCorpus, type CorpusHalf } from './corpus.js';

const half: CorpusHalf = process.argv[2] === 'test' ? 'test' : 'dev';
const verbose = process.argv.includes('-v');
const score = scoreCorpus(half, await loadCorpusHalf(half));
console.log(
  `${half}: ${score.samples} samples (${score.poisoned} poisoned, ${score.benign} benign) precision ${score.precision} recall ${score.recall} (tp ${score.truePositives} fp ${score.falsePositives} fn ${score.falseNegatives} tn ${score.trueNegatives})`,
);
if (half === 'dev') {
  for (const verdict of score.verdicts) {
    const wrong = (verdict.sample.label === 'poisoned') !== verdict.flagged;
    if (!wrong && !verbose) continue;
    console.log(
      `${wrong ? 'WRONG' : 'ok   '} ${verdict.sample.id} score ${verdict.analysis.score} flags [${verdict.analysis.flags.join(', ')}]`,
    );
    for (const f of verdict.analysis.findings) console.log(`      ${f.rule} ${f.weight} @${f.where}: ${f.excerpt}`);
  }
}
