/**
 * The CEL behaviour the policy language relies on (these cases chose the implementation; see docs/policy.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileCondition, toCelValue, CelCompileError } from './cel.js';

const activation = {
  args: toCelValue({
    amount: 50,
    price: 99.5,
    big: 150,
    count: 2,
    name: 'refund-123',
    tags: ['a', 'b'],
    meta: { k: 'v' },
    nested: { x: 1 },
  }),
  principal: toCelValue({ agentId: 'fin-1', roles: ['finance'], tenant: 'acme' }),
  task: toCelValue({ id: 't1' }),
  tool: toCelValue({ name: 'pay_refund', connector: 'pay' }),
  http: {},
  now: new Date('2024-05-07T10:00:00Z'),
};

describe('CEL conditions', () => {
  const cases: [string, boolean | 'error'][] = [
    ['args.amount <= 100', true],
    ['args.price <= 100', true],
    ['args.big <= 100', false],
    ['args.amount == 50', true],
    ['args.amount < 100.5', true],
    ['args.count + 1 == 3', true],
    ['"finance" in principal.roles', true],
    ['"k" in args.meta', true],
    ['size(args.tags) == 2 && args.tags.size() == 2', true],
    ['args.name.startsWith("refund") && args.name.endsWith("123") && args.name.contains("und")', true],
    ['args.name.matches("^refund-[0-9]+$")', true],
    ['has(args.missing)', false],
    ['has(args.amount)', true],
    ['!has(args.missing) || args.missing > 1', true],
    ['args.missing > 1', 'error'],
    ['args.tags.exists(t, t == "b")', true],
    ['args.nested.x == 1', true],
    ['task.intent == "x"', 'error'],
    ['has(args.constructor) || has(args.__proto__)', false],
    ['now.getHours() == 10 && now.getDayOfWeek() == 2', true],
    ['now.getHours("Europe/Berlin") == 12', true],
    ['args.name', 'error'],
    ['args.price + 1 > 0.0', 'error'],
  ];
  for (const [source, expected] of cases) {
    it(`${source} -> ${String(expected)}`, () => {
      const result = compileCondition(source).evaluate(activation);
      if (expected === 'error') assert.equal(result.ok, false);
      else assert.deepEqual(result, { ok: true, value: expected });
    });
  }
  it('rejects what cannot be a bool at compile time', () => {
    assert.throws(() => compileCondition('args.amount + 1'), CelCompileError);
    assert.throws(() => compileCondition('size(args)'), CelCompileError);
  });
  it('converts only safe integers to int', () => {
    assert.equal(toCelValue(5), 5n);
    assert.equal(toCelValue(5.5), 5.5);
    assert.equal(toCelValue(2 ** 60), 2 ** 60);
    const proto = toCelValue(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.keys(proto), ['__proto__']);
  });
});
