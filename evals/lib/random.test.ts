import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSeed, scenarioRandom } from './random.js';
import { fill, TemplateError } from './template.js';

describe('randomised literals', () => {
  it('one seed and scenario give the same values; another seed or scenario gives others', () => {
    const a = scenarioRandom(7, 'x/one');
    assert.equal(a('rand.note'), scenarioRandom(7, 'x/one')('rand.note'));
    assert.notEqual(a('rand.note'), scenarioRandom(8, 'x/one')('rand.note'));
    assert.notEqual(a('rand.note'), scenarioRandom(7, 'x/two')('rand.note'));
    assert.notEqual(a('rand.note'), a('rand.other'));
    assert.match(String(a('rand.note')), /^[a-z][a-z0-9]{9}$/);
    assert.equal(typeof a('randint.user'), 'number');
    assert.equal(a('backends.api.url'), undefined);
  });

  it('fills arguments and expectations alike; a whole randint placeholder becomes a number', () => {
    const random = scenarioRandom(1, 's');
    const filled = fill(
      { args: { id: '${randint.user}', note: '${rand.note} good' }, url: '/users/${randint.user}' },
      {},
      random,
    );
    assert.equal(filled.args.id, random('randint.user'));
    assert.equal(filled.args.note, `${String(random('rand.note'))} good`);
    assert.equal(filled.url, `/users/${String(random('randint.user'))}`);
  });

  it('an unknown placeholder is still an error', () => {
    assert.throws(() => fill('${nope.x}', {}, scenarioRandom(1, 's')), TemplateError);
  });

  it('EVAL_SEED repeats a run; a bad one is refused', () => {
    assert.equal(runSeed({ EVAL_SEED: '42' }), 42);
    assert.throws(() => runSeed({ EVAL_SEED: 'abc' }), /EVAL_SEED/);
    assert.ok(Number.isSafeInteger(runSeed({})));
  });
});
