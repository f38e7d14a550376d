import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callFactsFromInput,
  compilePolicy,
  egressFactsFromInput,
  parsePolicyObject,
  type CallFactsInput,
  type EgressFactsInput,
} from './index.js';
import { compileRule, type CompiledRule, type ConditionCache } from './rule.js';
import { RuleSchema } from './schema.js';

const agent = { agentId: 'bot-1', roles: ['support'], tenant: 'acme' };

/** Why the one rule of a policy missed the call, as `explain` reports it. */
function callMiss(rule: Record<string, unknown>, facts: Partial<CallFactsInput> = {}): string {
  const engine = compilePolicy([
    parsePolicyObject({ version: 1, name: 'test', rules: [{ id: 'r', effect: 'allow', ...rule }] }, 'test.yaml'),
  ]);
  const [trace] = engine.explain(callFactsFromInput({ principal: agent, tool: 'helpdesk_get_ticket', ...facts })).trace;
  assert.equal(trace?.outcome, 'missed', JSON.stringify(trace));
  return trace.reason;
}

function egressMiss(rule: Record<string, unknown>, facts: Partial<EgressFactsInput> = {}): string {
  const engine = compilePolicy([
    parsePolicyObject({ version: 1, name: 'test', rules: [{ id: 'r', effect: 'allow', ...rule }] }, 'test.yaml'),
  ]);
  const egress = egressFactsFromInput({ principal: agent, connector: 'helpdesk', host: 'api.test', ...facts });
  const [trace] = engine.explainEgress(egress).trace;
  assert.equal(trace?.outcome, 'missed', JSON.stringify(trace));
  return trace.reason;
}

describe('explain says why each check of a rule missed', () => {
  const http = (method: string, path: string) => ({ http: { method, path } });

  const callCases: [string, Record<string, unknown>, Partial<CallFactsInput>, string | RegExp][] = [
    ['tools', { tools: ['crm_get'] }, {}, 'tool helpdesk_get_ticket is not in [crm_get]'],
    [
      'a long list is cut',
      { tools: ['a', 'b', 'c', 'd', 'e'] },
      {},
      'tool helpdesk_get_ticket is not in [a, b, c, d, ...]',
    ],
    ['connector', { connector: ['crm', 'erp'] }, {}, 'connector helpdesk is not in [crm, erp]'],
    [
      'tool flags',
      { toolFlags: ['destructive'] },
      { tool: { name: 'helpdesk_get_ticket', flags: ['read'] } },
      'the tool carries none of the flags [destructive]',
    ],
    ['agent', { principal: { agents: ['bot-2'] } }, {}, 'principal agent bot-1 does not match [bot-2]'],
    [
      'roles',
      { principal: { roles: ['admin', 'ops*'] } },
      {},
      'principal roles [support] does not match [admin, ops*]',
    ],
    ['tenant', { principal: { tenants: ['globex'] } }, {}, 'principal tenant acme does not match [globex]'],
    [
      'environment',
      { principal: { environments: ['prod'] } },
      {},
      'principal environment (none) does not match [prod]',
    ],
    [
      'auth method',
      { principal: { authMethods: ['oauth'] } },
      {},
      'principal authMethod (none) does not match [oauth]',
    ],
    ['intent missing', { task: { intent: 'refund*' } }, {}, 'the task has no declared intent'],
    ['intent', { task: { intent: 'refund*' } }, { task: { intent: 'browse' } }, 'task intent does not match "refund*"'],
    ['nothing declared', { task: { declaredOnly: true } }, { task: {} }, 'the task declared no tools'],
    [
      'not declared',
      { task: { declaredOnly: true } },
      { task: { declaredTools: ['crm_*'] } },
      'the task did not declare helpdesk_get_ticket',
    ],
    ['not HTTP', { http: { methods: ['GET'] } }, {}, 'the call is not an HTTP request'],
    [
      'method',
      { http: { methods: ['get', 'POST', 'GET'] } },
      http('DELETE', '/x'),
      'method DELETE is not in [GET, POST]',
    ],
    [
      'path not canonical',
      { http: { paths: ['/items/{id}'] } },
      http('GET', '/items/../admin'),
      'the path is not canonical (never matches an allow rule)',
    ],
    [
      'path',
      { http: { paths: ['/items/{id}'] } },
      http('GET', '/orders/1'),
      'path /orders/1 matches none of [/items/{id}]',
    ],
    ['time', { time: { days: ['sat', 'sun'] } }, {}, /^outside the time window \S/],
    [
      'labels',
      { effect: 'deny', flow: { labels: ['pii'] } },
      { task: { labelsRead: ['public'] } },
      'the task has read no data labelled [pii]',
    ],
    [
      'trusted destination',
      { effect: 'deny', flow: { labels: ['pii'] }, egressTrust: { trusted: ['**.internal.test'] } },
      { task: { labelsRead: ['pii'] }, http: { method: 'GET', path: '/', host: 'api.internal.test' } },
      'destination api.internal.test is trusted',
    ],
    [
      'trusted tool',
      { effect: 'deny', flow: { labels: ['pii'] }, egressTrust: { trustedTools: ['helpdesk_*'] } },
      { task: { labelsRead: ['pii'] } },
      'tool helpdesk_get_ticket is trusted',
    ],
    ['condition', { when: 'args.amount < 10' }, { args: { amount: 50 } }, 'condition is false: args.amount < 10'],
  ];
  for (const [name, rule, facts, reason] of callCases) {
    it(`call: ${name}`, () => {
      const actual = callMiss(rule, facts);
      if (typeof reason === 'string') assert.equal(actual, reason);
      else assert.match(actual, reason);
    });
  }

  const egressCases: [string, Record<string, unknown>, Partial<EgressFactsInput>, string][] = [
    [
      'not a tool call',
      { tools: ['helpdesk_*'], egress: { hosts: ['api.test'] } },
      {},
      'the request is not part of a tool call',
    ],
    [
      'no principal',
      { principal: { agents: ['bot-*'] }, egress: { hosts: ['api.test'] } },
      { principal: undefined },
      'no principal',
    ],
    [
      'agent',
      { principal: { agents: ['bot-2'] }, egress: { hosts: ['api.test'] } },
      {},
      'principal agent bot-1 does not match [bot-2]',
    ],
    ['connector', { connector: 'crm', egress: { hosts: ['api.test'] } }, {}, 'connector helpdesk is not in [crm]'],
    [
      'intent',
      { task: { intent: 'refund*' }, egress: { hosts: ['api.test'] } },
      { task: { intent: 'browse' } },
      'task intent does not match "refund*"',
    ],
    [
      'scheme',
      { egress: { schemes: ['https'], hosts: ['api.test'] } },
      { scheme: 'http' },
      'scheme http is not in [https]',
    ],
    ['port', { egress: { ports: [443], hosts: ['api.test'] } }, { port: 8443 }, 'port 8443 is not in [443]'],
    ['host', { egress: { hosts: ['api.test'] } }, { host: 'evil.test' }, 'host evil.test matches none of [api.test]'],
    ['no address yet', { egress: { cidrs: ['10.0.0.0/8'] } }, {}, 'no resolved address yet'],
    [
      'address',
      { egress: { cidrs: ['10.0.0.0/8'], classes: ['loopback'] } },
      { ip: '192.168.1.1' },
      'address 192.168.1.1 is in none of [10.0.0.0/8, loopback]',
    ],
  ];
  for (const [name, rule, facts, reason] of egressCases) {
    it(`egress: ${name}`, () => assert.equal(egressMiss(rule, facts), reason));
  }
});

function compiled(input: Record<string, unknown>, conditions?: ConditionCache): CompiledRule {
  const result = compileRule(
    RuleSchema.parse({ id: 'r', effect: 'allow', ...input }),
    0,
    'test.yaml',
    undefined,
    conditions,
  );
  assert.ok('rule' in result, JSON.stringify(result));
  return result.rule;
}

/** Every function reachable from `root` through own properties of objects and arrays (not prototypes). */
function reachableFunctions(root: unknown, found = new Map<unknown, string>(), path = 'rule'): Map<unknown, string> {
  if (root === null || typeof root !== 'object') return found;
  for (const [key, value] of Object.entries(root)) {
    if (found.has(value)) continue;
    if (typeof value === 'function') found.set(value, `${path}.${key}`);
    else if (value !== null && typeof value === 'object') {
      found.set(value, `${path}.${key}`);
      reachableFunctions(value, found, `${path}.${key}`);
    }
  }
  return found;
}

describe('a compiled rule is data', () => {
  it('holds no functions of its own: its behaviour and its checks live on prototypes', () => {
    // The shape of a per-agent baseline: exact names throughout, which need no matcher function either.
    const baseline = (agentId: string) =>
      compiled({
        tools: ['helpdesk_get_ticket'],
        connector: 'helpdesk',
        principal: { agents: [agentId], roles: ['support'], tenants: ['acme'] },
        http: { methods: ['GET'] },
      });
    const rule = baseline('bot-1');
    const another = baseline('bot-2');
    // Functions reachable from both (how a principal field is read) are shared by every rule, not held by one.
    const shared = reachableFunctions(another);
    const own = [...reachableFunctions(rule)].filter(([value]) => typeof value === 'function' && !shared.has(value));
    assert.deepEqual(
      own.map(([, path]) => path),
      [],
    );
    // ...and it still decides.
    const facts = callFactsFromInput({
      principal: agent,
      tool: 'helpdesk_get_ticket',
      http: { method: 'GET', path: '/' },
    });
    assert.deepEqual(rule.matchCall({ facts }), { kind: 'match' });
    assert.deepEqual(another.matchCall({ facts }), { kind: 'miss', check: 'principal.agent' });
  });

  it('shares a missed check’s outcome between rules instead of making one per rule', () => {
    const a = compiled({ tools: ['crm_get'] });
    const b = compiled({ tools: ['erp_get'] });
    const facts = callFactsFromInput({ principal: agent, tool: 'helpdesk_get_ticket' });
    assert.equal(a.matchCall({ facts }), b.matchCall({ facts }));
    assert.deepEqual(a.matchCall({ facts }), { kind: 'miss', check: 'tools' });
  });

  it('compiles a condition once for all the rules of a policy that share its text, each deciding on its own', () => {
    const conditions: ConditionCache = new Map();
    const small = compiled({ tools: ['a_pay'], when: 'args.amount <= 100' }, conditions);
    const alsoSmall = compiled({ tools: ['b_pay'], when: 'args.amount <= 100' }, conditions);
    const other = compiled({ tools: ['c_pay'], when: 'args.amount > 5' }, conditions);
    assert.deepEqual([...conditions.keys()], ['args.amount <= 100', 'args.amount > 5']);
    const pay = (tool: string, amount: number) => ({
      facts: callFactsFromInput({ principal: agent, tool, args: { amount } }),
    });
    assert.equal(small.matchCall(pay('a_pay', 50)).kind, 'match');
    assert.equal(alsoSmall.matchCall(pay('b_pay', 500)).kind, 'miss');
    assert.equal(alsoSmall.matchCall(pay('b_pay', 100)).kind, 'match');
    assert.equal(other.matchCall(pay('c_pay', 500)).kind, 'match');
    assert.equal(other.matchCall(pay('c_pay', 5)).kind, 'miss');
  });

  it('in a policy, rules of one condition text are decided by it each with its own tools and principal', () => {
    const engine = compilePolicy([
      parsePolicyObject(
        {
          version: 1,
          name: 'test',
          rules: [
            {
              id: 'bot-1-pay',
              effect: 'allow',
              tools: ['pay'],
              principal: { agents: ['bot-1'] },
              when: 'args.amount <= 100',
            },
            {
              id: 'bot-2-pay',
              effect: 'allow',
              tools: ['pay'],
              principal: { agents: ['bot-2'] },
              when: 'args.amount <= 100',
            },
          ],
        },
        'test.yaml',
      ),
    ]);
    const decide = (agentId: string, amount: number) =>
      engine.evaluate(callFactsFromInput({ principal: { agentId }, tool: 'pay', args: { amount } }));
    assert.deepEqual(decide('bot-2', 10).rules, ['bot-2-pay']);
    assert.deepEqual(decide('bot-1', 10).rules, ['bot-1-pay']);
    assert.equal(decide('bot-1', 1000).effect, 'deny');
    assert.equal(decide('bot-3', 10).effect, 'deny');
  });
});
