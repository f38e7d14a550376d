/** The canonical JSON behind call hashes, value by value, and the shape check of a call hash. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalize, isCallHash } from './call-hash.js';

const HEX = 'ab'.repeat(32);

describe('isCallHash', () => {
  it('accepts exactly 64 lower-case hex digits', () => {
    assert.equal(isCallHash(HEX), true);
    for (const value of [HEX.toUpperCase(), `x${HEX}`, `${HEX}x`, HEX.slice(1), `${HEX}\n`, [HEX], 7, null, undefined])
      assert.equal(isCallHash(value), false, String(value));
  });
});

describe('canonicalize', () => {
  it('writes scalars as JSON does', () => {
    assert.equal(canonicalize(null), 'null');
    assert.equal(canonicalize(true), 'true');
    assert.equal(canonicalize(false), 'false');
    assert.equal(canonicalize(1.5), '1.5');
    assert.equal(canonicalize('a"b'), '"a\\"b"');
  });

  it('writes a missing array item as null and drops a missing member', () => {
    assert.equal(canonicalize([undefined, 1]), '[null,1]');
    assert.equal(canonicalize({ b: 1, a: undefined, c: [true] }), '{"b":1,"c":[true]}');
  });

  it('refuses what JSON cannot carry, saying what it was', () => {
    assert.throws(() => canonicalize(Number.NaN), {
      name: 'TypeError',
      message: 'call arguments must be JSON: non-finite number',
    });
    assert.throws(() => canonicalize(new Date(0)), {
      name: 'TypeError',
      message: 'call arguments must be JSON: not a plain object',
    });
    assert.throws(() => canonicalize(1n), { name: 'TypeError', message: 'call arguments must be JSON: bigint' });
    assert.throws(() => canonicalize({ f: () => 1 }), { message: 'call arguments must be JSON: function' });
  });
});
