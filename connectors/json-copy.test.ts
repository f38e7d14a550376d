import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyJsonValue, MAX_JSON_DEPTH, NotJsonError } from './json-copy.js';

function refusal(value: unknown): NotJsonError {
  try {
    copyJsonValue(value);
  } catch (error) {
    assert.ok(error instanceof NotJsonError, `expected a NotJsonError, got ${String(error)}`);
    return error;
  }
  assert.fail('the value was copied');
}

describe('copyJsonValue', () => {
  it('copies plain JSON deeply, sharing nothing with the original', () => {
    const original = { text: 'hi', n: -1.5, ok: true, none: null, list: [1, { deep: ['x'] }], nested: { a: {} } };
    const copy = copyJsonValue(original) as typeof original;
    assert.deepEqual(copy, original);
    assert.notEqual(copy, original);
    assert.notEqual(copy.list, original.list);
    assert.notEqual(copy.list[1], original.list[1]);
    (original.list[1] as { deep: string[] }).deep.push('later');
    original.nested.a = { changed: true };
    assert.deepEqual(copy.list[1], { deep: ['x'] });
    assert.deepEqual(copy.nested, { a: {} });
  });

  it('copies exactly what serialisation sends: undefined members dropped, __proto__ kept as a member', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"keep":1}') as Record<string, unknown>;
    const copy = copyJsonValue({ ...parsed, gone: undefined }) as Record<string, unknown>;
    assert.equal(JSON.stringify(copy), '{"__proto__":{"admin":true},"keep":1}');
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.equal(Object.hasOwn(copy, 'gone'), false);
    assert.deepEqual(copyJsonValue(Object.assign(Object.create(null), { a: 1 })), { a: 1 });
  });

  it('refuses what serialisation would change or drop, naming where it is', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ when: new Date(0) }, '/when', /not a plain object/],
      [{ m: new Map([['a', 1]]) }, '/m', /not a plain object/],
      [{ list: [1, Number.NaN] }, '/list/1', /finite number/],
      [{ big: Number.POSITIVE_INFINITY }, '/big', /finite number/],
      [{ f: () => 1 }, '/f', /function/],
      [{ s: Symbol('s') }, '/s', /symbol/],
      [{ b: 10n }, '/b', /bigint/],
      [{ list: [1, undefined] }, '/list/1', /undefined/],
      [{ 'a/b': { '~c': new Uint8Array(1) } }, '/a~1b/~0c', /not a plain object/],
      [{ '': [new Set()] }, '//0', /not a plain object/],
      [undefined, '', /undefined/],
    ];
    for (const [value, path, reason] of cases) {
      const error = refusal(value);
      assert.equal(error.path, path, String(error.message));
      assert.match(error.reason, reason);
    }
  });

  it('refuses cycles and values nested deeper than the limit, without exhausting the stack', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = { back: cyclic };
    assert.equal(refusal(cyclic).path, '/self/back');
    const shared = { x: 1 };
    assert.deepEqual(
      copyJsonValue({ a: shared, b: [shared] }),
      { a: { x: 1 }, b: [{ x: 1 }] },
      'a value met twice is no cycle',
    );
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.match(refusal(deep).reason, new RegExp(`deeper than ${MAX_JSON_DEPTH}`));
    let fits: unknown = 'leaf';
    for (let i = 0; i < MAX_JSON_DEPTH; i++) fits = { v: fits };
    assert.deepEqual(copyJsonValue(fits), fits);
  });
});
