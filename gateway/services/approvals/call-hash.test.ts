import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { callHash, canonicalize, isCallHash, type CallFacts } from './call-hash.js';

/** The same JSON value with every object's keys in reverse insertion order. */
function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .reverse()
        .map((key) => [key, reorder((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

const argsArb = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
const callArb: fc.Arbitrary<CallFacts> = fc.record(
  {
    agentId: fc.string({ minLength: 1, maxLength: 12 }),
    taskId: fc.string({ minLength: 1, maxLength: 12 }),
    tool: fc.string({ minLength: 1, maxLength: 12 }),
    method: fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'),
    url: fc.webUrl(),
    args: argsArb,
  },
  { requiredKeys: ['agentId', 'taskId', 'tool', 'args'] },
);

test('callHash is 64 hex digits and stable for a known call', () => {
  const hash = callHash({
    agentId: 'a',
    taskId: 't',
    tool: 'x_y',
    method: 'GET',
    url: 'https://api.example/v1/items',
    args: { id: 1 },
  });
  assert.ok(isCallHash(hash));
  assert.equal(
    hash,
    callHash({
      agentId: 'a',
      taskId: 't',
      tool: 'x_y',
      method: 'GET',
      url: 'https://api.example/v1/items',
      args: { id: 1 },
    }),
  );
});

test('callHash is sha256 over the version tag and the canonical JSON, as the module documents', () => {
  const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
  assert.equal(
    callHash({
      agentId: 'a',
      taskId: 't',
      tool: 'x_y',
      method: 'GET',
      url: 'https://api.example/v1/items',
      args: { id: 1 },
    }),
    sha256(
      'portcullis.call-hash.v1\n{"agentId":"a","args":{"id":1},"method":"GET","taskId":"t","tool":"x_y","url":"https://api.example/v1/items"}',
    ),
  );
  assert.equal(
    callHash({ agentId: 'a', taskId: 't', tool: 'x_y', args: {} }),
    sha256('portcullis.call-hash.v1\n{"agentId":"a","args":{},"method":null,"taskId":"t","tool":"x_y","url":null}'),
  );
});

test('key order does not change the hash, at any depth', () => {
  fc.assert(
    fc.property(callArb, (call) => {
      const reordered = reorder(call) as CallFacts;
      assert.equal(callHash(reordered), callHash(call));
    }),
  );
});

test('changing any string field changes the hash', () => {
  const fields = ['agentId', 'taskId', 'tool', 'method', 'url'] as const;
  fc.assert(
    fc.property(callArb, fc.constantFrom(...fields), fc.string({ maxLength: 16 }), (call, field, value) => {
      fc.pre(call[field] !== value);
      assert.notEqual(callHash({ ...call, [field]: value }), callHash(call));
    }),
  );
});

test('adding or removing method/url changes the hash', () => {
  const base = { agentId: 'a', taskId: 't', tool: 'x', args: {} };
  const hashes = new Set([
    callHash(base),
    callHash({ ...base, method: 'GET' }),
    callHash({ ...base, url: 'https://a.example/' }),
    callHash({ ...base, method: 'GET', url: 'https://a.example/' }),
    callHash({ ...base, method: 'null' }),
  ]);
  assert.equal(hashes.size, 5);
});

test('changing, adding or removing any argument changes the hash', () => {
  fc.assert(
    fc.property(callArb, fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), (call, key, value) => {
      const changed = { ...call.args, [key]: value };
      fc.pre(canonicalize(changed) !== canonicalize(call.args));
      assert.notEqual(callHash({ ...call, args: changed }), callHash(call));
    }),
  );
  fc.assert(
    fc.property(callArb, (call) => {
      const keys = Object.keys(call.args);
      fc.pre(keys.length > 0);
      const rest = { ...call.args };
      delete rest[keys[0]!];
      assert.notEqual(callHash({ ...call, args: rest }), callHash(call));
    }),
  );
});

test('moving a value between fields changes the hash (no ambiguous concatenation)', () => {
  assert.notEqual(
    callHash({ agentId: 'ab', taskId: 'c', tool: 't', args: {} }),
    callHash({ agentId: 'a', taskId: 'bc', tool: 't', args: {} }),
  );
  assert.notEqual(
    callHash({ agentId: 'a', taskId: 'b', tool: 't', args: { x: [1, 2] } }),
    callHash({ agentId: 'a', taskId: 'b', tool: 't', args: { x: [2, 1] } }),
  );
});

test('a __proto__ member counts like any other (JSON.parse makes it an own member)', () => {
  const base = { agentId: 'a', taskId: 't', tool: 'x' };
  const withProto = JSON.parse('{"__proto__":{"admin":true}}') as Record<string, unknown>;
  assert.notEqual(callHash({ ...base, args: withProto }), callHash({ ...base, args: {} }));
  assert.equal(canonicalize(withProto), '{"__proto__":{"admin":true}}');
});

test('canonical form: sorted keys, no whitespace, undefined members dropped', () => {
  assert.equal(
    canonicalize({ b: [1, 'x', null, true], a: { d: undefined, c: 1.5 } }),
    '{"a":{"c":1.5},"b":[1,"x",null,true]}',
  );
  assert.equal(canonicalize({ é: 1, z: 2, A: 3 }), '{"A":3,"z":2,"é":1}');
});

test('values JSON cannot carry are refused, not collapsed', () => {
  const base = { agentId: 'a', taskId: 't', tool: 'x' };
  assert.throws(() => callHash({ ...base, args: { n: Number.NaN } }), TypeError);
  assert.throws(() => callHash({ ...base, args: { d: new Date(0) } }), TypeError);
  assert.throws(() => callHash({ ...base, args: { b: 1n } }), TypeError);
});
