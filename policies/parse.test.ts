import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compilePolicy,
  parsePolicyObject,
  parsePolicyTestsYaml,
  parsePolicyYaml,
  PolicyCompileError,
} from './index.js';

function problemsOf(action: () => unknown): { file: string; path: string; message: string; line?: number }[] {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof PolicyCompileError, String(error));
    assert.equal(error.code, 'POLICY_INVALID');
    return [...error.problems];
  }
  assert.fail('expected a PolicyCompileError');
}

describe('parsePolicyYaml', () => {
  it('accepts a full document', () => {
    const parsed = parsePolicyYaml(
      `version: 1
name: full
egressTrust: { trusted: ['**.corp.example'] }
rules:
  - id: r1
    effect: approve
    description: d
    principal: { agents: [a-*], roles: [r], tenants: [t], environments: [prod], authMethods: [api-key] }
    task: { intent: '*refund*', declaredOnly: true }
    tools: ['pay_*']
    http: { methods: [POST], paths: ['/refunds/{id}'] }
    time: { days: [mon], between: ['08:00', '18:00'], tz: Europe/Berlin }
    when: 'args.amount > 100'
    flow: { labels: [sensitive] }
    rateLimit: { calls: 5, per: 1m }
    approval: { approvers: 2, maxTtl: 15m }
    labels: { reads: [pii] }
`,
      'full.yaml',
    );
    assert.equal(parsed.document.rules.length, 1);
    assert.equal(compilePolicy([parsed]).ruleCount, 1);
  });

  it('names the file, the path to an unknown key and its line', () => {
    const problems = problemsOf(() =>
      parsePolicyYaml('version: 1\nname: x\nrules:\n  - id: a\n    effect: allow\n    toolz: [x]\n', 'p.yaml'),
    );
    assert.deepEqual(problems, [{ file: 'p.yaml', path: 'rules.0.toolz', message: 'unknown key "toolz"', line: 6 }]);
  });

  const invalid: [string, string, string][] = [
    ['bad effect', 'rules:\n  - { id: a, effect: permit }', 'rules.0.effect'],
    [
      'bad duration',
      'rules:\n  - { id: a, effect: allow, rateLimit: { calls: 1, per: 1 minute } }',
      'rules.0.rateLimit.per',
    ],
    [
      'bad cidr',
      'rules:\n  - { id: a, effect: allow, egress: { hosts: [x.example], cidrs: [10.0.0.0/33] } }',
      'rules.0.egress.cidrs.0',
    ],
    [
      'bad host glob',
      'rules:\n  - { id: a, effect: allow, egress: { hosts: ["a.**.example"] } }',
      'rules.0.egress.hosts.0',
    ],
    ['bad path pattern', 'rules:\n  - { id: a, effect: allow, http: { paths: ["/a/../b"] } }', 'rules.0.http.paths.0'],
    [
      'bad time zone',
      'rules:\n  - { id: a, effect: allow, time: { days: [mon], tz: Mars/Olympus } }',
      'rules.0.time.tz',
    ],
    ['approval on allow', 'rules:\n  - { id: a, effect: allow, approval: { approvers: 1 } }', 'rules.0.approval'],
    ['approve on egress', 'rules:\n  - { id: a, effect: approve, egress: { hosts: [x.example] } }', 'rules.0.effect'],
    [
      'when on egress',
      'rules:\n  - { id: a, effect: allow, when: "true", egress: { hosts: [x.example] } }',
      'rules.0.when',
    ],
    ['flow on allow', 'rules:\n  - { id: a, effect: allow, flow: { labels: [s] } }', 'rules.0.flow'],
    ['empty egress', 'rules:\n  - { id: a, effect: allow, egress: {} }', 'rules.0.egress'],
    ['unknown top-level key', 'rulez: []', 'rulez'],
  ];
  for (const [name, body, path] of invalid) {
    it(`rejects ${name}`, () => {
      const problems = problemsOf(() => parsePolicyYaml(`version: 1\nname: x\n${body}\n`, 'bad.yaml'));
      assert.ok(
        problems.some((p) => p.file === 'bad.yaml' && p.path === path),
        JSON.stringify(problems),
      );
    });
  }

  it('rejects YAML syntax errors and duplicate keys with a line', () => {
    const syntax = problemsOf(() => parsePolicyYaml('version: 1\nname: [x\n', 's.yaml'));
    assert.equal(syntax[0]?.file, 's.yaml');
    assert.match(syntax[0]?.message ?? '', /^YAML/);
    const dup = problemsOf(() => parsePolicyYaml('version: 1\nname: x\nname: y\n', 'd.yaml'));
    assert.equal(dup[0]?.line, 3);
  });
});

describe('compilePolicy checks', () => {
  const doc = (rules: unknown[], file = 'c.yaml') =>
    parsePolicyObject({ version: 1, name: file.replace('.yaml', ''), rules }, file);

  it('rejects duplicate rule ids across documents and generated rules', () => {
    const problems = problemsOf(() =>
      compilePolicy([doc([{ id: 'a', effect: 'allow' }], 'one.yaml'), doc([{ id: 'a', effect: 'deny' }], 'two.yaml')], {
        extraRules: [{ id: 'a', effect: 'allow' }],
        extraRulesSource: 'config',
      }),
    );
    assert.deepEqual(
      problems.map((p) => `${p.file}:${p.path}`),
      ['two.yaml:rules.0.id', 'config:0.id'],
    );
  });

  const badCel: [string, RegExp][] = [
    ['args.amount <=', /syntax/],
    ['unknownVar == 1', /type error/],
    ['nosuchfn(args.x)', /type error/],
    ['1 + "a"', /type error/],
    ['1 + 2', /must be a bool/],
    ['"text"', /must be a bool/],
  ];
  for (const [source, message] of badCel) {
    it(`rejects the condition ${source}`, () => {
      const problems = problemsOf(() => compilePolicy([doc([{ id: 'a', effect: 'allow', when: source }])]));
      assert.equal(problems[0]?.path, 'rules.0.when');
      assert.match(problems[0]?.message ?? '', message);
    });
  }

  it('accepts generated rules as plain objects (the gateway baseline shape)', () => {
    const engine = compilePolicy([], {
      extraRules: [
        {
          id: 'agent:bot:baseline',
          effect: 'allow',
          description: 'baseline',
          principal: { agents: ['bot'] },
          tools: ['helpdesk_*'],
        },
        {
          id: 'connector:helpdesk:egress',
          effect: 'allow',
          description: 'own backend',
          connector: 'helpdesk',
          egress: { hosts: ['127.0.0.1'], ports: [8080], schemes: ['http'], cidrs: ['127.0.0.0/8'] },
        },
      ],
    });
    assert.equal(engine.ruleCount, 2);
    const tool = { name: 'helpdesk_get', connector: 'helpdesk', local: 'get', connectorKind: 'http' as const };
    assert.equal(engine.evaluate({ principal: { agentId: 'bot', roles: [] }, tool, args: {}, now: 0 }).effect, 'allow');
    assert.equal(
      engine.evaluateEgress({
        connector: 'helpdesk',
        scheme: 'http',
        host: '127.0.0.1',
        port: 8080,
        ip: '127.0.0.1',
        addressClass: 'loopback',
      }).effect,
      'allow',
    );
    assert.equal(
      engine.evaluateEgress({
        connector: 'helpdesk',
        scheme: 'http',
        host: '127.0.0.1',
        port: 8081,
        ip: '127.0.0.1',
        addressClass: 'loopback',
      }).effect,
      'deny',
    );
  });

  it('reports invalid generated rules by index', () => {
    const problems = problemsOf(() =>
      compilePolicy([], {
        extraRules: [
          { id: 'ok', effect: 'allow' },
          { id: 'bad', effect: 'nope' },
        ],
        extraRulesSource: 'config',
      }),
    );
    assert.deepEqual(
      problems.map((p) => `${p.file}:${p.path}`),
      ['config:1.effect'],
    );
  });
});

describe('parsePolicyTestsYaml', () => {
  it('parses test cases and rejects malformed ones with their path', () => {
    const cases = parsePolicyTestsYaml(
      'tests:\n  - name: t\n    facts: { principal: { agentId: a }, tool: x_y }\n    expect: { effect: deny }\n',
      't.tests.yaml',
    );
    assert.equal(cases.length, 1);
    const problems = problemsOf(() =>
      parsePolicyTestsYaml(
        'tests:\n  - name: t\n    facts: { principal: { agentId: a }, tool: x_y }\n    expect: { effect: maybe }\n',
        't.tests.yaml',
      ),
    );
    assert.equal(problems[0]?.path, 'tests.0.expect.effect');
    const both = problemsOf(() =>
      parsePolicyTestsYaml('tests:\n  - name: t\n    expect: { effect: deny }\n', 't.tests.yaml'),
    );
    assert.match(both[0]?.message ?? '', /exactly one/);
  });
});
