/**
 * The rule index decides exactly as a scan of every rule does. `explain` scans every call rule (it traces
 * them all) and decides with the same procedure, so for random policies and calls `evaluate` (through the
 * index) must return the very same decision: effect, code, rules in declaration order, errors, directives.
 * `visible` is checked against a direct reading of the rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { callFactsFromInput, compilePolicy, parsePolicyObject, type PolicyEngine } from './index.js';
import { LOOKUP_MEMO_ENTRIES } from './engine.js';
import { matchNameGlob } from './glob.js';

const CONNECTORS = ['a', 'bb', 'c'];
const LOCALS = ['get', 'get_x', 'del', 'x', 'list_x'];
const TOOLS = CONNECTORS.flatMap((c) => LOCALS.map((l) => `${c}_${l}`));
const AGENTS = ['bot-1', 'bot-2', 'ops-1'];
const ROLES = ['support', 'dev', 'admin'];

const toolPattern = fc.oneof(
  fc.constantFrom(...TOOLS),
  fc.constantFrom('a_*', 'bb_*', 'a_get*', 'c_list_*', 'bb_g?t', '?_x'),
  fc.constantFrom('*_x', '*get', '*_del', '*t_x'),
  fc.constantFrom('*', '*get*', '*_*'),
);

interface RuleShape {
  id: string;
  effect: 'allow' | 'deny' | 'approve';
  tools?: string[];
  connector?: string | string[];
  principal?: { agents?: string[]; roles?: string[] };
  when?: string;
  rateLimit?: { calls: number; per: string };
  labels?: { reads: string[] };
}

const ruleArb = fc.record(
  {
    effect: fc.constantFrom('allow', 'allow', 'deny', 'approve'),
    tools: fc.array(toolPattern, { minLength: 1, maxLength: 3 }),
    connector: fc.oneof(fc.constantFrom(...CONNECTORS), fc.subarray(CONNECTORS, { minLength: 1 })),
    agents: fc.oneof(fc.subarray(AGENTS, { minLength: 1 }), fc.constant(['bot-*']), fc.constant(['*-1', 'ops-1'])),
    roles: fc.oneof(fc.subarray(ROLES, { minLength: 1 }), fc.constant(['d*'])),
    // `args.n` is an error when the call has no `n`: errors must come out the same too.
    when: fc.constantFrom('args.n > 5', 'has(args.n) && args.n < 3', 'principal.agentId.startsWith("bot")'),
    rateLimit: fc.constant({ calls: 5, per: '1m' }),
    labels: fc.constantFrom(['pii'], ['finance', 'pii']),
  },
  { requiredKeys: ['effect'] },
);

function toRules(shapes: readonly object[]): RuleShape[] {
  return shapes.map((shape, i) => {
    const s = shape as Record<string, unknown>;
    const rule: RuleShape = { id: `r${i}`, effect: s['effect'] as RuleShape['effect'] };
    if (s['tools'] !== undefined) rule.tools = s['tools'] as string[];
    if (s['connector'] !== undefined) rule.connector = s['connector'] as string | string[];
    if (s['agents'] !== undefined || s['roles'] !== undefined)
      rule.principal = {
        ...(s['agents'] !== undefined ? { agents: s['agents'] as string[] } : {}),
        ...(s['roles'] !== undefined ? { roles: s['roles'] as string[] } : {}),
      };
    if (s['when'] !== undefined) rule.when = s['when'] as string;
    if (s['rateLimit'] !== undefined && rule.effect !== 'deny')
      rule.rateLimit = s['rateLimit'] as RuleShape['rateLimit'] & object;
    if (s['labels'] !== undefined && rule.effect !== 'deny') rule.labels = { reads: s['labels'] as string[] };
    return rule;
  });
}

const callArb = fc.record({
  tool: fc.constantFrom(...TOOLS),
  agentId: fc.constantFrom(...AGENTS),
  roles: fc.subarray(ROLES),
  n: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
});

function engineOf(rules: RuleShape[]): PolicyEngine {
  return compilePolicy([parsePolicyObject({ version: 1, name: 'property', rules }, 'property.yaml')]);
}

function factsOf(c: object) {
  const call = c as { tool: string; agentId: string; roles: string[]; n?: number };
  return callFactsFromInput({
    principal: { agentId: call.agentId, roles: call.roles },
    tool: call.tool,
    args: call.n === undefined ? {} : { n: call.n },
  });
}

/** Could this rule's subject (tools, connector, principal) match? Read from the rule as written. */
function subjectMatches(rule: RuleShape, tool: string, agentId: string, roles: readonly string[]): boolean {
  const connector = tool.slice(0, tool.indexOf('_'));
  if (rule.tools !== undefined && !rule.tools.some((p) => matchNameGlob(p, tool))) return false;
  if (rule.connector !== undefined) {
    const list = typeof rule.connector === 'string' ? [rule.connector] : rule.connector;
    if (!list.includes(connector)) return false;
  }
  const agents = rule.principal?.agents;
  if (agents !== undefined && !agents.some((p) => matchNameGlob(p, agentId))) return false;
  const wanted = rule.principal?.roles;
  if (wanted !== undefined && !roles.some((r) => wanted.some((p) => matchNameGlob(p, r)))) return false;
  return true;
}

function visibleByScan(rules: RuleShape[], tool: string, agentId: string, roles: readonly string[]): boolean {
  const subject = rules.filter((r) => subjectMatches(r, tool, agentId, roles));
  if (subject.some((r) => r.effect === 'deny' && r.when === undefined)) return false;
  return subject.some((r) => r.effect !== 'deny');
}

describe('policy index', () => {
  it('decides every call as a scan of every rule does', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 30 }),
        // Enough calls that pairs of tool and principal come back, answered from the engine's lookup memo.
        fc.array(callArb, { minLength: 1, maxLength: 40 }),
        (shapes, calls) => {
          const engine = engineOf(toRules(shapes));
          for (const c of calls) {
            const facts = factsOf(c);
            assert.deepEqual(engine.evaluate(facts), engine.explain(facts).decision);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('shows a tool exactly when a scan of the rules would', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 30 }),
        fc.array(callArb, { minLength: 1, maxLength: 10 }),
        (shapes, calls) => {
          const rules = toRules(shapes);
          const engine = engineOf(rules);
          for (const c of calls) {
            const facts = factsOf(c);
            assert.equal(
              engine.visible(facts.principal, facts.tool),
              visibleByScan(rules, c.tool, c.agentId, c.roles),
              `${c.tool} for ${c.agentId} ${JSON.stringify(c.roles)}`,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decides as a scan does for more pairs of tool and principal than its lookup memo keeps', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 20 }), (shapes) => {
        const engine = engineOf(toRules(shapes));
        // Past LOOKUP_MEMO_ENTRIES distinct pairs the memo starts again; the first pairs then come back.
        const pairs = Array.from({ length: LOOKUP_MEMO_ENTRIES + 200 }, (_, i) => ({
          tool: TOOLS[i % TOOLS.length]!,
          agentId: i % 3 === 0 ? AGENTS[i % AGENTS.length]! : `bot-${i}`,
          roles: [ROLES[i % ROLES.length]!],
          n: i % 10,
        }));
        for (const c of [...pairs, ...pairs.slice(0, 300)]) {
          const facts = factsOf(c);
          assert.deepEqual(engine.evaluate(facts), engine.explain(facts).decision);
        }
      }),
      { numRuns: 5 },
    );
  });

  it('names each matching rule once when it sits under several keys of one lookup', () => {
    const engine = engineOf([
      {
        id: 'overlap',
        effect: 'allow',
        tools: ['a_*', 'a_get*', '*_x', 'a_get_x'],
        principal: { roles: ['dev', 'admin'] },
      },
    ]);
    const decision = engine.evaluate(
      callFactsFromInput({ principal: { agentId: 'bot-1', roles: ['dev', 'admin'] }, tool: 'a_get_x' }),
    );
    assert.equal(decision.effect, 'allow');
    assert.deepEqual(decision.rules, ['overlap']);
  });
});
