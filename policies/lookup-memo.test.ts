import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callFactsFromInput, compilePolicy, parsePolicyObject } from './index.js';
import { LookupMemo, lookupKey } from './lookup-memo.js';

describe('lookup memo', () => {
  it('gives each tool and principal a key of its own, whatever characters the names hold', () => {
    const keys = [
      lookupKey('ab', 'c', 'agent', []),
      lookupKey('a', 'bc', 'agent', []),
      lookupKey('a', 'b', 'c', ['x', 'y']),
      lookupKey('a', 'b', 'c', ['xy']),
      lookupKey('a', 'b', 'c', ['x', '1:y']),
      lookupKey('a', 'b', 'c1:x', []),
      lookupKey('a', 'b', 'c', ['1:x']),
      lookupKey('a', 'b', 'c', []),
      lookupKey('a', 'b', 'c', ['']),
    ];
    assert.equal(new Set(keys).size, keys.length, keys.join(' | '));
    assert.equal(lookupKey('t', 'c', 'a', ['r']), lookupKey('t', 'c', 'a', ['r']));
  });

  it('keeps entries until one more would pass a bound, then starts again', () => {
    const memo = new LookupMemo<string>(3, 10);
    memo.set('a', 'A', 2);
    memo.set('b', 'B', 2);
    memo.set('c', 'C', 2);
    assert.deepEqual([memo.get('a'), memo.get('b'), memo.get('c'), memo.size], ['A', 'B', 'C', 3]);
    memo.set('d', 'D', 2); // a fourth entry: over the count
    assert.deepEqual([memo.get('a'), memo.get('d'), memo.size], [undefined, 'D', 1]);
    memo.set('e', 'E', 8); // 2 + 8 = 10: within the weight
    assert.equal(memo.size, 2);
    memo.set('f', 'F', 1); // 11: over the weight
    assert.deepEqual([memo.get('d'), memo.get('e'), memo.get('f'), memo.size], [undefined, undefined, 'F', 1]);
  });

  it('does not keep an entry heavier than the whole memo may be, nor drop the others for it', () => {
    const memo = new LookupMemo<string>(8, 10);
    memo.set('a', 'A', 3);
    memo.set('huge', 'H', 11);
    assert.deepEqual([memo.get('a'), memo.get('huge'), memo.size], ['A', undefined, 1]);
  });

  it('is what an engine answers a pair seen before from, decisions and listings alike', (t) => {
    // Count what engines keep: a pair seen before must be found, not looked up in the index again.
    const kept: string[] = [];
    const set = LookupMemo.prototype.set;
    t.mock.method(
      LookupMemo.prototype,
      'set',
      function (this: LookupMemo<unknown>, key: string, value: unknown, weight: number) {
        kept.push(key);
        set.call(this, key, value, weight);
      },
    );
    const engine = compilePolicy([
      parsePolicyObject(
        {
          version: 1,
          name: 'memo',
          rules: [
            { id: 'dev-get', effect: 'allow', tools: ['a_get'], principal: { roles: ['dev'] } },
            { id: 'all-x', effect: 'allow', tools: ['*_x'] },
          ],
        },
        'memo.yaml',
      ),
    ]);
    const call = (roles: string[], tool: string) =>
      callFactsFromInput({ principal: { agentId: 'bot-1', roles }, tool, args: {} });
    assert.equal(engine.evaluate(call(['dev'], 'a_get')).effect, 'allow');
    assert.equal(engine.evaluate(call(['dev'], 'a_get')).effect, 'allow');
    assert.equal(engine.visible(call(['dev'], 'a_get').principal, call(['dev'], 'a_get').tool), true);
    assert.equal(kept.length, 1, 'the second decision and the listing read the first lookup');
    // Another role is another pair: looked up, and decided by what that role may do.
    assert.equal(engine.evaluate(call(['ops'], 'a_get')).effect, 'deny');
    assert.equal(engine.evaluate(call(['ops'], 'a_x')).effect, 'allow');
    assert.equal(kept.length, 3);
  });
});
