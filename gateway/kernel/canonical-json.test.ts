import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { canonicalHash, canonicalJson, isPlainJson, sha256Hex, someJsonKey } from './canonical-json.js';

test('sorts keys at every depth, keeps array order, drops undefined members, adds no whitespace', () => {
  assert.equal(
    canonicalJson({ b: [3, { z: 1, a: undefined, m: [2, 1] }], a: { d: undefined, c: 1.5 }, é: 1, A: null }),
    '{"A":null,"a":{"c":1.5},"b":[3,{"m":[2,1],"z":1}],"é":1}',
  );
  assert.equal(canonicalJson('text'), '"text"');
  assert.equal(canonicalJson([undefined, 1]), '[null,1]');
  assert.equal(canonicalJson(new Date(0)), '"1970-01-01T00:00:00.000Z"');
});

test('two objects equal as JSON have one canonical form and one hash, whatever their key order', () => {
  const one = { tool: 'x', args: { b: 2, a: { y: 1, x: 0 } } };
  const other = { args: { a: { x: 0, y: 1 }, b: 2 }, tool: 'x' };
  assert.equal(canonicalJson(one), canonicalJson(other));
  assert.equal(canonicalHash(one), canonicalHash(other));
  assert.notEqual(canonicalHash(one), canonicalHash({ ...other, tool: 'y' }));
});

test('a __proto__ member (JSON.parse makes it an own member) is written as a member, not taken as a prototype', () => {
  const parsed = JSON.parse('{"b":1,"__proto__":{"admin":true,"a":[1]}}') as Record<string, unknown>;
  assert.equal(canonicalJson(parsed), '{"__proto__":{"a":[1],"admin":true},"b":1}');
  assert.notEqual(canonicalHash(parsed), canonicalHash({ b: 1 }));
  // Nested, and with a value that is not an object.
  assert.equal(canonicalJson(JSON.parse('{"x":{"__proto__":5}}')), '{"x":{"__proto__":5}}');
});

test('sha256Hex is sha256 of the UTF-8 text, in hex', () => {
  for (const text of ['', 'abc', 'é ✓ 🙂']) {
    assert.equal(sha256Hex(text), createHash('sha256').update(text, 'utf8').digest('hex'));
  }
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(canonicalHash({ b: 1, a: 2 }), sha256Hex('{"a":2,"b":1}'));
});

/** `JSON.rawJSON` (Node 21+), which the TypeScript library in use does not declare. */
const rawJson = (text: string): unknown => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);

test('a value and what a reader parses back from its JSON have one canonical form', () => {
  class Money {
    constructor(readonly cents: number) {}
    toJSON(): unknown {
      return { amount: this.cents / 100, currency: 'EUR' };
    }
  }
  const values: unknown[] = [
    new Date(0),
    new Money(1250),
    { when: new Date(86_400_000), price: new Money(5), list: [new Money(1), undefined, () => 1] },
    Object.assign(Object.create(null) as object, { b: 1, a: new Money(2) }),
    { toJSON: (key: string) => ({ key, z: 1, a: 2 }) },
    { nested: { toJSON: (key: string) => `member ${key}` }, array: [{ toJSON: (key: string) => `element ${key}` }] },
    { n: new Number(3), s: new String('text'), t: new Boolean(false) },
    { gone: { toJSON: () => undefined }, kept: 1, nothing: { toJSON: () => null } },
    // toJSON is called once: an object it returns is written by its members, a function member left out.
    { a: { toJSON: () => ({ toJSON: () => 'not called', b: 1 }) }, toJSON: undefined },
    {
      raw: rawJson('12345678901234567890'),
      text: rawJson('"a\\u0062"'),
      f: () => 1,
      u: undefined,
      nan: Number.NaN,
      neg: -0,
    },
  ];
  for (const value of values) {
    assert.equal(canonicalJson(value), canonicalJson(JSON.parse(JSON.stringify(value))), JSON.stringify(value));
  }
  assert.equal(canonicalJson(new Money(1250)), '{"amount":12.5,"currency":"EUR"}');
  assert.equal(canonicalJson({ n: new Number(3), s: new String('ab') }), '{"n":3,"s":"ab"}');
});

test('someJsonKey finds a key wherever JSON.stringify would write it', () => {
  const isSecret = (key: string) => key === 'token';
  assert.equal(someJsonKey({ a: [{ b: { token: 1 } }] }, isSecret), true);
  assert.equal(someJsonKey({ a: { toJSON: () => ({ token: 'x' }) } }, isSecret), true);
  assert.equal(someJsonKey([1, 'token', { tokens: 1 }], isSecret), false);
  assert.equal(someJsonKey(JSON.parse('{"__proto__":{"token":1}}'), isSecret), true);
  assert.equal(someJsonKey(undefined, isSecret), false);
  // Only keys JSON writes: not an array's indices, not a member it leaves out.
  assert.equal(
    someJsonKey(['x', ['y']], (key) => key === '0'),
    false,
  );
  assert.equal(
    someJsonKey(
      { token: undefined, a: { token: () => 1 }, b: { token: { toJSON: () => undefined } }, c: { token: Symbol('t') } },
      isSecret,
    ),
    false,
  );
  // toJSON is called once, with the key JSON.stringify passes: '' at the top, the member's name, the index.
  const keys: string[] = [];
  const noting = (result: unknown) => ({ toJSON: (key: string) => (keys.push(key), result) });
  assert.equal(someJsonKey(noting({ list: [noting({}), noting({ token: 1 })] }), isSecret), true);
  assert.deepEqual(keys, ['', '0', '1']);
});

test('isPlainJson holds for data JSON reads without calling anything, at any depth', () => {
  for (const plain of [
    null,
    'text',
    1.5,
    undefined,
    [1, [2, { a: null }]],
    { a: { b: [true, 'x'] }, u: undefined },
    Object.assign(Object.create(null) as object, { a: 1 }),
    JSON.parse('{"__proto__":{"a":1}}'),
  ]) {
    assert.equal(isPlainJson(plain), true, JSON.stringify(plain));
  }
  class Record {
    a = 1;
  }
  for (const [name, notPlain] of [
    ['a date', { at: new Date(0) }],
    ['a date after plain members', [1, { a: 2 }, new Date(0)]],
    ['an own toJSON', { a: [{ toJSON: () => 1 }] }],
    ['an inherited toJSON', [Object.create({ toJSON: () => 1 }) as object]],
    ['a class instance', { a: new Record() }],
    ['a boxed string', { s: new String('x') }],
    ['raw JSON', { r: rawJson('1') }],
  ] as const) {
    assert.equal(isPlainJson(notPlain), false, name);
  }
});
