import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { twinProblems, type TwinLink } from './load.js';

const file = 'scenarios/x/y.yaml';
const attack = (id: string, twin?: string): TwinLink => ({ id, kind: 'attack', file, ...(twin ? { twin } : {}) });
const benign = (id: string, twin?: string): TwinLink => ({ id, kind: 'benign', file, ...(twin ? { twin } : {}) });

describe('twin rules', () => {
  it('accepts attacks paired one to one with benign twins, and benign scenarios that stand alone', () => {
    assert.deepEqual(twinProblems([attack('x/a', 'x/b'), benign('x/b', 'x/a'), benign('x/c')]), []);
  });

  it('refuses two attacks that share one benign twin', () => {
    const problems = twinProblems([attack('x/a1', 'x/b'), attack('x/a2', 'x/b'), benign('x/b', 'x/a1')]);
    assert.deepEqual(problems, [`${file}: x/a2 names twin x/b, but x/b names x/a1: twins pair one to one`]);
  });

  it('refuses a twin that does not name its attack back', () => {
    assert.deepEqual(twinProblems([attack('x/a', 'x/b'), benign('x/b')]), [
      `${file}: x/a names twin x/b, but x/b names no twin: twins pair one to one`,
    ]);
  });

  it('refuses an attack without a twin, a missing twin and a twin of the same kind', () => {
    assert.deepEqual(twinProblems([attack('x/a'), attack('x/b', 'x/none'), attack('x/c', 'x/b')]), [
      `${file}: attack x/a has no benign twin`,
      `${file}: x/b names twin x/none, which does not exist`,
      `${file}: x/c and its twin x/b are both attack`,
    ]);
  });

  it('refuses a benign scenario that names an attack which names another twin', () => {
    const problems = twinProblems([attack('x/a', 'x/b1'), benign('x/b1', 'x/a'), benign('x/b2', 'x/a')]);
    assert.deepEqual(problems, [`${file}: x/b2 names twin x/a, but x/a names x/b1: twins pair one to one`]);
  });
});
