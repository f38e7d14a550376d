import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifiedTokens } from './verified-tokens.js';

describe('verified tokens', () => {
  it('remembers up to the size, the least recently used going first', () => {
    for (const size of [1, 2, 2.9]) {
      const kept = verifiedTokens<{ n: number }>(size);
      const room = Math.floor(size);
      for (let n = 0; n <= room; n += 1) kept.set(`d${n}`, { n });
      assert.equal(kept.get('d0'), undefined, `size ${size}: the oldest went`);
      assert.deepEqual(kept.get(`d${room}`), { n: room });
      if (room === 2) {
        kept.get('d1'); // used: d2 is now the least recently used
        kept.set('d3', { n: 3 });
        assert.deepEqual([kept.get('d1'), kept.get('d2')], [{ n: 1 }, undefined]);
      }
      kept.delete(`d${room}`);
      assert.equal(kept.get(`d${room}`), undefined);
    }
  });

  it('remembers nothing with a size below one, or one that is not a number', () => {
    for (const size of [0, 0.5, -1, Number.NaN]) {
      const kept = verifiedTokens<{ n: number }>(size);
      kept.set('d', { n: 1 });
      assert.equal(kept.get('d'), undefined, `size ${size}`);
      kept.delete('d');
    }
  });
});
