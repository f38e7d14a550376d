import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callFactsFromInput,
  compilePolicy,
  egressFactsFromInput,
  parsePolicyObject,
  type CallFactsInput,
  type PolicyEngine,
} from './index.js';

function engineOf(rules: unknown[], extra: Record<string, unknown> = {}): PolicyEngine {
  return compilePolicy([parsePolicyObject({ version: 1, name: 'test', rules, ...extra }, 'test.yaml')]);
}

const agent = { agentId: 'bot-1', roles: ['support'], tenant: 'acme' };

function call(overrides: Partial<CallFactsInput> = {}): ReturnType<typeof callFactsFromInput> {
  return callFactsFromInput({ principal: agent, tool: 'helpdesk_get_ticket', ...overrides });
}

describe('precedence and default deny', () => {
  const rules = [
    { id: 'allow-all-helpdesk', effect: 'allow', tools: ['helpdesk_*'] },
    {
      id: 'approve-delete',
      effect: 'approve',
      tools: ['helpdesk_delete_ticket'],
      approval: { approvers: 2, maxTtl: '15m' },
    },
    { id: 'approve-delete-short', effect: 'approve', tools: ['helpdesk_delete_*'], approval: { maxTtl: '5m' } },
    { id: 'deny-admin', effect: 'deny', tools: ['helpdesk_admin_*'] },
    { id: 'allow-admin', effect: 'allow', tools: ['helpdesk_admin_reset'] },
    { id: 'approve-admin', effect: 'approve', tools: ['helpdesk_admin_reset'] },
  ];
  const engine = engineOf(rules);
  const cases: { name: string; tool: string; effect: string; code?: string; rules: string[] }[] = [
    {
      name: 'allow when only an allow matches',
      tool: 'helpdesk_get_ticket',
      effect: 'allow',
      rules: ['allow-all-helpdesk'],
    },
    {
      name: 'approve beats allow',
      tool: 'helpdesk_delete_ticket',
      effect: 'approve',
      code: 'APPROVAL_REQUIRED',
      rules: ['approve-delete', 'approve-delete-short'],
    },
    {
      name: 'deny beats approve and allow',
      tool: 'helpdesk_admin_reset',
      effect: 'deny',
      code: 'POLICY_DENIED',
      rules: ['deny-admin'],
    },
    {
      name: 'no matching rule is a deny with no rules',
      tool: 'mail_send',
      effect: 'deny',
      code: 'POLICY_DENIED',
      rules: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decision = engine.evaluate(call({ tool: c.tool }));
      assert.equal(decision.effect, c.effect);
      assert.equal(decision.code, c.code);
      assert.deepEqual(decision.rules, c.rules);
      assert.equal(decision.policyVersion, engine.version);
      assert.ok(decision.reason.length > 0);
    });
  }
  it('combines approval requirements: most approvers, shortest grant', () => {
    const decision = engine.evaluate(call({ tool: 'helpdesk_delete_ticket' }));
    assert.deepEqual(decision.approval, { approvers: 2, maxTtlSeconds: 300 });
  });
  it('an empty policy denies everything', () => {
    const empty = compilePolicy([]);
    assert.equal(empty.evaluate(call()).effect, 'deny');
    assert.deepEqual(empty.evaluate(call()).rules, []);
    assert.equal(
      empty.evaluateEgress(egressFactsFromInput({ connector: 'helpdesk', host: 'a.example' })).effect,
      'deny',
    );
  });
  it('egress rules never allow tool calls', () => {
    const e = engineOf([{ id: 'reach', effect: 'allow', connector: 'helpdesk', egress: { hosts: ['**'] } }]);
    assert.equal(e.evaluate(call()).effect, 'deny');
  });
});

describe('CEL conditions fail closed', () => {
  const engine = engineOf([
    { id: 'allow-small', effect: 'allow', tools: ['pay_refund'], when: 'args.amount <= 100' },
    { id: 'deny-blocked', effect: 'deny', tools: ['pay_refund'], when: 'args.customer.blocked == true' },
    { id: 'approve-large', effect: 'approve', tools: ['pay_big'], when: 'args.amount > 1000' },
    { id: 'allow-big', effect: 'allow', tools: ['pay_big'] },
    { id: 'allow-nonbool', effect: 'allow', tools: ['weird_tool'], when: 'args.flag' },
  ]);
  const refund = (args: Record<string, unknown>, tool = 'pay_refund') => engine.evaluate(call({ tool, args }));

  it('int and double arguments compare as written', () => {
    assert.equal(refund({ amount: 100, customer: { blocked: false } }).effect, 'allow');
    assert.equal(refund({ amount: 99.5, customer: { blocked: false } }).effect, 'allow');
    assert.equal(refund({ amount: 100.01, customer: { blocked: false } }).effect, 'deny');
  });
  it('a failing allow condition does not allow, and is reported', () => {
    const decision = refund({ customer: { blocked: false } });
    assert.equal(decision.effect, 'deny');
    assert.deepEqual(decision.rules, []);
    assert.equal(decision.errors?.[0]?.rule, 'allow-small');
    assert.match(decision.reason, /could not be evaluated/);
  });
  it('a failing deny condition still denies', () => {
    const decision = refund({ amount: 5 });
    assert.equal(decision.effect, 'deny');
    assert.deepEqual(decision.rules, ['deny-blocked']);
    assert.equal(decision.errors?.[0]?.rule, 'deny-blocked');
  });
  it('a failing approve condition still asks', () => {
    const decision = refund({}, 'pay_big');
    assert.equal(decision.effect, 'approve');
    assert.deepEqual(decision.rules, ['approve-large']);
  });
  it('a non-boolean result is an error', () => {
    const decision = refund({ flag: 'yes' }, 'weird_tool');
    assert.equal(decision.effect, 'deny');
    assert.match(decision.errors?.[0]?.message ?? '', /not a bool/);
    assert.equal(refund({ flag: true }, 'weird_tool').effect, 'allow');
  });
  it('conditions see principal, task, tool, http params and now', () => {
    const e = engineOf([
      {
        id: 'everything',
        effect: 'allow',
        tools: ['git_*'],
        http: { paths: ['/repos/{owner}/{repo}/pulls'] },
        when: 'principal.tenant == "acme" && task.intent.contains("fix") && tool.connector == "git" && http.params.owner == principal.tenant && http.method == "POST" && now.getFullYear() == 2024',
      },
    ]);
    const facts = {
      principal: agent,
      task: { intent: 'fix the bug' },
      tool: 'git_create_pull',
      http: { method: 'POST', path: '/repos/acme/app/pulls' },
    } satisfies CallFactsInput;
    assert.equal(e.evaluate(callFactsFromInput(facts)).effect, 'allow');
    assert.equal(
      e.evaluate(callFactsFromInput({ ...facts, http: { method: 'POST', path: '/repos/other/app/pulls' } })).effect,
      'deny',
    );
    assert.equal(e.evaluate(callFactsFromInput({ ...facts, now: '2025-03-01T00:00:00Z' })).effect, 'deny');
  });
  it('hostile argument nesting is a condition error, not a crash', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) deep = { x: deep };
    const decision = refund({ amount: 1, customer: deep });
    assert.equal(decision.effect, 'deny');
    assert.ok((decision.errors?.length ?? 0) > 0);
  });
});

describe('tool, principal and task matchers', () => {
  const engine = engineOf([
    { id: 'by-glob', effect: 'allow', tools: ['crm_get_*'], principal: { agents: ['bot-*'], roles: ['support'] } },
    { id: 'by-connector', effect: 'allow', connector: 'wiki', principal: { tenants: ['acme'] } },
    { id: 'by-intent', effect: 'allow', tools: ['pay_refund'], task: { intent: '*refund*' } },
    { id: 'declared-only', effect: 'allow', tools: ['mail_*'], task: { declaredOnly: true } },
    { id: 'suffix-glob', effect: 'allow', tools: ['*_search'], principal: { environments: ['prod'] } },
    { id: 'deny-flagged', effect: 'deny', toolFlags: ['shadowing'] },
  ]);
  const cases: { name: string; facts: CallFactsInput; effect: 'allow' | 'deny'; rules?: string[] }[] = [
    {
      name: 'glob on tool and agent',
      facts: { principal: agent, tool: 'crm_get_customer' },
      effect: 'allow',
      rules: ['by-glob'],
    },
    {
      name: 'glob does not match another connector',
      facts: { principal: agent, tool: 'crmx_get_customer' },
      effect: 'deny',
    },
    {
      name: 'role required',
      facts: { principal: { ...agent, roles: ['sales'] }, tool: 'crm_get_customer' },
      effect: 'deny',
    },
    {
      name: 'agent glob',
      facts: { principal: { ...agent, agentId: 'human-1' }, tool: 'crm_get_customer' },
      effect: 'deny',
    },
    {
      name: 'connector matcher',
      facts: { principal: agent, tool: 'wiki_read' },
      effect: 'allow',
      rules: ['by-connector'],
    },
    {
      name: 'connector matcher needs the tenant',
      facts: { principal: { agentId: 'x', roles: [] }, tool: 'wiki_read' },
      effect: 'deny',
    },
    {
      name: 'intent glob is case-insensitive',
      facts: { principal: agent, task: { intent: 'Issue a REFUND' }, tool: 'pay_refund' },
      effect: 'allow',
    },
    { name: 'no intent, no match', facts: { principal: agent, tool: 'pay_refund' }, effect: 'deny' },
    {
      name: 'declared tool',
      facts: { principal: agent, task: { declaredTools: ['mail_*'] }, tool: 'mail_send' },
      effect: 'allow',
    },
    {
      name: 'undeclared tool',
      facts: { principal: agent, task: { declaredTools: ['crm_*'] }, tool: 'mail_send' },
      effect: 'deny',
    },
    { name: 'no declaration', facts: { principal: agent, task: {}, tool: 'mail_send' }, effect: 'deny' },
    {
      name: 'leading-glob rule from the fallback list',
      facts: { principal: { ...agent, environment: 'prod' }, tool: 'kb_search' },
      effect: 'allow',
      rules: ['suffix-glob'],
    },
    {
      name: 'flagged tool denied',
      facts: { principal: agent, tool: { name: 'crm_get_customer', flags: ['shadowing'] } },
      effect: 'deny',
      rules: ['deny-flagged'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decision = engine.evaluate(callFactsFromInput(c.facts));
      assert.equal(decision.effect, c.effect, decision.reason);
      if (c.rules !== undefined) assert.deepEqual(decision.rules, c.rules);
    });
  }
});

describe('HTTP matchers', () => {
  const engine = engineOf([
    {
      id: 'read',
      effect: 'allow',
      tools: ['api_*'],
      http: { methods: ['get'], paths: ['/tickets/{id}', '/files/**', '/v*/status'] },
    },
    { id: 'deny-admin', effect: 'deny', tools: ['api_*'], http: { paths: ['/admin/**'] } },
    { id: 'approve-export', effect: 'approve', tools: ['api_*'], http: { paths: ['/export/{kind}'] } },
  ]);
  const decide = (method: string, path: string) => engine.evaluate(call({ tool: 'api_call', http: { method, path } }));
  const cases: [string, string, string][] = [
    ['GET', '/tickets/42', 'allow'],
    ['get', '/tickets/42', 'allow'],
    ['POST', '/tickets/42', 'deny'],
    ['GET', '/tickets/42/comments', 'deny'],
    ['GET', '/tickets/', 'deny'],
    ['GET', '/files', 'allow'],
    ['GET', '/files/', 'allow'],
    ['GET', '/files/a/b/c.txt', 'allow'],
    ['GET', '/v2/status', 'allow'],
    ['GET', '/v2/x/status', 'deny'],
    ['GET', '/admin', 'deny'],
    ['GET', '/admin/users', 'deny'],
    ['GET', '/export/csv', 'approve'],
    // Non-canonical paths: never an allow; deny and approve rules with paths match.
    ['GET', '/tickets/%2E%2E', 'deny'],
    ['GET', '//tickets/1', 'deny'],
    ['GET', '/files/./x', 'deny'],
  ];
  for (const [method, path, effect] of cases) {
    it(`${method} ${path} -> ${effect}`, () => assert.equal(decide(method, path).effect, effect));
  }
  it('a non-canonical path matches a deny rule with paths', () => {
    assert.deepEqual(decide('GET', '/files/%2e%2e/admin').rules, ['deny-admin']);
  });
  it('a rule with an http matcher does not match a call without HTTP', () => {
    assert.equal(engine.evaluate(call({ tool: 'api_call' })).effect, 'deny');
  });
});

describe('time windows', () => {
  const engine = engineOf([
    {
      id: 'office',
      effect: 'allow',
      tools: ['a_x'],
      time: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], between: ['08:00', '18:00'], tz: 'Europe/Berlin' },
    },
    { id: 'night', effect: 'allow', tools: ['a_night'], time: { days: ['fri'], between: ['22:00', '06:00'] } },
  ]);
  const at = (tool: string, now: string) => engine.evaluate(call({ tool, now })).effect;
  const cases: [string, string, string][] = [
    ['a_x', '2024-01-01T07:00:00Z', 'allow'], // Monday 08:00 Berlin: inclusive start
    ['a_x', '2024-01-01T06:59:00Z', 'deny'],
    ['a_x', '2024-01-01T17:00:00Z', 'deny'], // 18:00 Berlin: exclusive end
    ['a_x', '2024-07-01T06:30:00Z', 'allow'], // summer time: 08:30 Berlin
    ['a_x', '2024-01-06T10:00:00Z', 'deny'], // Saturday
    ['a_night', '2024-01-05T23:00:00Z', 'allow'], // Friday 23:00
    ['a_night', '2024-01-06T05:59:00Z', 'allow'], // Saturday early morning belongs to Friday's window
    ['a_night', '2024-01-06T06:00:00Z', 'deny'],
    ['a_night', '2024-01-05T05:00:00Z', 'deny'], // Friday early morning belongs to Thursday
  ];
  for (const [tool, now, effect] of cases)
    it(`${tool} at ${now} -> ${effect}`, () => assert.equal(at(tool, now), effect));
});

describe('egress', () => {
  const engine = engineOf([
    {
      id: 'api',
      effect: 'allow',
      connector: 'weather',
      egress: { hosts: ['api.weather.example', '*.cdn.example'], ports: [443], schemes: ['https'] },
    },
    {
      id: 'internal',
      effect: 'allow',
      connector: 'crm',
      principal: { tenants: ['acme'] },
      egress: { hosts: ['crm.corp.example'], cidrs: ['10.20.0.0/16', 'fd00:20::/32'] },
    },
    { id: 'by-address', effect: 'allow', connector: 'lab', egress: { cidrs: ['192.168.7.0/24'] } },
    { id: 'no-evil', effect: 'deny', egress: { hosts: ['evil.cdn.example'] } },
  ]);
  const decide = (f: Record<string, unknown>) => engine.evaluateEgress(egressFactsFromInput(f));
  const cases: { name: string; facts: Record<string, unknown>; effect: string; rules?: string[]; reason?: RegExp }[] = [
    {
      name: 'exact host, public',
      facts: { connector: 'weather', host: 'api.weather.example', ip: '203.0.113.1', addressClass: 'public' },
      effect: 'allow',
      rules: ['api'],
    },
    {
      name: 'host match is case-insensitive',
      facts: { connector: 'weather', host: 'API.Weather.Example' },
      effect: 'allow',
    },
    { name: '* is one label', facts: { connector: 'weather', host: 'img.cdn.example' }, effect: 'allow' },
    { name: '* does not cross dots', facts: { connector: 'weather', host: 'a.img.cdn.example' }, effect: 'deny' },
    { name: '* needs a label', facts: { connector: 'weather', host: 'cdn.example' }, effect: 'deny' },
    { name: 'wrong port', facts: { connector: 'weather', host: 'api.weather.example', port: 8443 }, effect: 'deny' },
    {
      name: 'wrong scheme',
      facts: { connector: 'weather', scheme: 'http', host: 'api.weather.example', port: 443 },
      effect: 'deny',
    },
    { name: 'wrong connector', facts: { connector: 'crm', host: 'api.weather.example' }, effect: 'deny' },
    {
      name: 'deny rule wins',
      facts: { connector: 'weather', host: 'evil.cdn.example' },
      effect: 'deny',
      rules: ['no-evil'],
    },
    {
      name: 'private address without a CIDR names the class',
      facts: { connector: 'weather', host: 'api.weather.example', ip: '10.0.0.1', addressClass: 'private' },
      effect: 'deny',
      rules: [],
      reason: /private/,
    },
    {
      name: 'loopback without a CIDR',
      facts: { connector: 'weather', host: 'api.weather.example', ip: '127.0.0.1', addressClass: 'loopback' },
      effect: 'deny',
      reason: /loopback/,
    },
    {
      name: 'private address inside the rule CIDR',
      facts: {
        connector: 'crm',
        principal: { agentId: 'a', tenant: 'acme' },
        host: 'crm.corp.example',
        ip: '10.20.1.2',
        addressClass: 'private',
      },
      effect: 'allow',
      rules: ['internal'],
    },
    {
      name: 'private address outside the rule CIDR',
      facts: {
        connector: 'crm',
        principal: { agentId: 'a', tenant: 'acme' },
        host: 'crm.corp.example',
        ip: '10.21.1.2',
        addressClass: 'private',
      },
      effect: 'deny',
      reason: /private/,
    },
    {
      name: 'IPv6 unique-local in range',
      facts: {
        connector: 'crm',
        principal: { agentId: 'a', tenant: 'acme' },
        host: 'crm.corp.example',
        ip: 'fd00:20::5',
        addressClass: 'unique-local',
      },
      effect: 'allow',
    },
    {
      name: 'IPv4-mapped IPv6 is inside the IPv4 range it spells',
      facts: {
        connector: 'crm',
        principal: { agentId: 'a', tenant: 'acme' },
        host: 'crm.corp.example',
        ip: '::ffff:10.20.1.2',
        addressClass: 'private',
      },
      effect: 'allow',
      rules: ['internal'],
    },
    {
      name: 'IPv4-mapped IPv6 outside the IPv4 range it spells',
      facts: {
        connector: 'crm',
        principal: { agentId: 'a', tenant: 'acme' },
        host: 'crm.corp.example',
        ip: '::ffff:10.21.1.2',
        addressClass: 'private',
      },
      effect: 'deny',
    },
    {
      name: 'principal matcher needs a principal',
      facts: { connector: 'crm', host: 'crm.corp.example', ip: '10.20.1.2', addressClass: 'private' },
      effect: 'deny',
    },
    {
      name: 'CIDR-only rule matches by address',
      facts: { connector: 'lab', host: 'printer.lab', ip: '192.168.7.9', addressClass: 'private' },
      effect: 'allow',
      rules: ['by-address'],
    },
    {
      name: 'CIDR-only rule, address outside',
      facts: { connector: 'lab', host: 'printer.lab', ip: '192.168.8.9', addressClass: 'private' },
      effect: 'deny',
    },
    { name: 'CIDR-only rule before resolution', facts: { connector: 'lab', host: 'printer.lab' }, effect: 'deny' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decision = decide(c.facts);
      assert.equal(decision.effect, c.effect, decision.reason);
      if (c.effect === 'deny') assert.equal(decision.code, 'EGRESS_DENIED');
      if (c.rules !== undefined) assert.deepEqual(decision.rules, c.rules);
      if (c.reason !== undefined) {
        assert.match(decision.reason, c.reason);
        // Names the address class, never the rules.
        assert.doesNotMatch(decision.reason, /by rule|internal|by-address|no-evil/);
      }
    });
  }
});

describe('visibility', () => {
  const engine = engineOf([
    {
      id: 'support-read',
      effect: 'allow',
      principal: { roles: ['support'] },
      tools: ['helpdesk_*'],
      http: { methods: ['GET'] },
      when: 'args.x == 1',
    },
    { id: 'refund-approve', effect: 'approve', principal: { roles: ['finance'] }, tools: ['pay_refund'] },
    { id: 'hide-admin', effect: 'deny', tools: ['helpdesk_admin_*'] },
    { id: 'deny-delete-at-night', effect: 'deny', tools: ['helpdesk_delete'], time: { between: ['22:00', '06:00'] } },
  ]);
  const tool = (name: string) => callFactsFromInput({ principal: agent, tool: name }).tool;
  const cases: [string, Record<string, unknown>, string, boolean][] = [
    ['allow rule ignoring http and when', { agentId: 'a', roles: ['support'] }, 'helpdesk_get', true],
    ['wrong role', { agentId: 'a', roles: ['sales'] }, 'helpdesk_get', false],
    ['approve rules make a tool visible', { agentId: 'a', roles: ['finance'] }, 'pay_refund', true],
    ['an unconditional deny hides', { agentId: 'a', roles: ['support'] }, 'helpdesk_admin_reset', false],
    ['a conditional deny does not hide', { agentId: 'a', roles: ['support'] }, 'helpdesk_delete', true],
    ['unknown tool', { agentId: 'a', roles: ['support'] }, 'other_tool', false],
  ];
  for (const [name, principal, toolName, expected] of cases) {
    it(name, () => assert.equal(engine.visible({ roles: [], ...principal } as never, tool(toolName)), expected));
  }
});

describe('data flow', () => {
  const engine = engineOf(
    [
      { id: 'send', effect: 'allow', tools: ['web_post', 'notes_add', 'mail_send'] },
      { id: 'no-exfil', effect: 'deny', tools: ['web_*', 'notes_*'], flow: { labels: ['sensitive', 'secret'] } },
      {
        id: 'mail-review',
        effect: 'approve',
        tools: ['mail_*'],
        flow: { labels: ['sensitive'] },
        egressTrust: { trusted: ['mail.corp.example'] },
      },
    ],
    { egressTrust: { trusted: ['**.corp.example'], untrusted: ['paste.corp.example'], trustedTools: ['notes_*'] } },
  );
  const decide = (tool: string, labels: string[] | undefined, host?: string) =>
    engine.evaluate(
      callFactsFromInput({
        principal: agent,
        task: { ...(labels ? { labelsRead: labels } : {}) },
        tool,
        ...(host ? { http: { method: 'POST', path: '/x', host } } : {}),
      }),
    );
  const cases: [string, string, string[] | undefined, string | undefined, string][] = [
    ['no labels read: untrusted destination is fine', 'web_post', undefined, 'pastebin.example', 'allow'],
    ['other labels: fine', 'web_post', ['public'], 'pastebin.example', 'allow'],
    ['sensitive to untrusted host: denied', 'web_post', ['sensitive'], 'pastebin.example', 'deny'],
    ['secret to untrusted host: denied', 'web_post', ['secret'], 'pastebin.example', 'deny'],
    ['sensitive to trusted host: allowed', 'web_post', ['sensitive'], 'wiki.corp.example', 'allow'],
    ['trusted zone carve-out: denied', 'web_post', ['sensitive'], 'paste.corp.example', 'deny'],
    ['no HTTP destination and not a trusted tool: untrusted', 'web_post', ['sensitive'], undefined, 'deny'],
    ['trusted tool without HTTP destination: allowed', 'notes_add', ['sensitive'], undefined, 'allow'],
    ['rule-level trust overrides the document: approve', 'mail_send', ['sensitive'], 'wiki.corp.example', 'approve'],
    ['rule-level trust: trusted mail host', 'mail_send', ['sensitive'], 'mail.corp.example', 'allow'],
  ];
  for (const [name, tool, labels, host, effect] of cases) {
    it(name, () => assert.equal(decide(tool, labels, host).effect, effect));
  }
});

describe('directives', () => {
  it('returns rate limits and read labels of the rules that let the call through', () => {
    const engine = engineOf([
      {
        id: 'read',
        effect: 'allow',
        tools: ['crm_get'],
        rateLimit: { calls: 10, per: '1m' },
        labels: { reads: ['pii', 'sensitive'] },
      },
      { id: 'also', effect: 'allow', tools: ['crm_*'], labels: { reads: ['pii'] } },
    ]);
    const decision = engine.evaluate(call({ tool: 'crm_get' }));
    assert.deepEqual(decision.rules, ['read', 'also']);
    assert.deepEqual(decision.labelsRead, ['pii', 'sensitive']);
    assert.equal(decision.rateLimits?.length, 1);
    assert.deepEqual(
      { ...decision.rateLimits![0], key: undefined },
      { rule: 'read', calls: 10, perSeconds: 60, key: undefined },
    );
    assert.notEqual(
      decision.rateLimits![0]!.key,
      engine.evaluate(call({ tool: 'crm_get', principal: { ...agent, agentId: 'bot-2' } })).rateLimits![0]!.key,
    );
  });
});

describe('policy version', () => {
  const base = { version: 1, name: 'v', rules: [{ id: 'a', effect: 'allow', tools: ['x_y'] }] };
  const version = (doc: unknown, extraRules: unknown[] = []) =>
    compilePolicy([parsePolicyObject(doc, 'v.yaml')], { extraRules: extraRules as object[] }).version;
  it('is a sha256 and stable for the same content', () => {
    assert.match(version(base), /^sha256:[0-9a-f]{64}$/);
    assert.equal(version(base), version(structuredClone(base)));
  });
  it('ignores key order, file names and test cases', () => {
    const reordered = { rules: [{ tools: ['x_y'], effect: 'allow', id: 'a' }], name: 'v', version: 1 };
    assert.equal(version(base), version(reordered));
    assert.equal(version(base), compilePolicy([parsePolicyObject(base, 'elsewhere.yaml')]).version);
    const withTests = {
      ...base,
      tests: [{ name: 't', facts: { principal: { agentId: 'a' }, tool: 'x_y' }, expect: { effect: 'allow' } }],
    };
    assert.equal(version(base), version(withTests));
  });
  it('changes with any rule content and with generated rules', () => {
    assert.notEqual(version(base), version({ ...base, rules: [{ id: 'a', effect: 'deny', tools: ['x_y'] }] }));
    assert.notEqual(version(base), version({ ...base, rules: [{ id: 'a', effect: 'allow', tools: ['x_z'] }] }));
    assert.notEqual(version(base), version(base, [{ id: 'gen', effect: 'allow', tools: ['q_q'] }]));
  });
});

describe('explain', () => {
  it('traces every rule and decides exactly like evaluate', () => {
    const engine = engineOf([
      { id: 'read', effect: 'allow', tools: ['api_*'], http: { methods: ['GET'] } },
      { id: 'big', effect: 'approve', tools: ['api_*'], when: 'args.n > 10' },
      { id: 'egress', effect: 'allow', connector: 'api', egress: { hosts: ['api.example'] } },
    ]);
    const facts = call({ tool: 'api_get', http: { method: 'GET', path: '/x' }, args: {} });
    const { decision, trace } = engine.explain(facts);
    assert.deepEqual(decision, engine.evaluate(facts));
    assert.deepEqual(
      trace.map((t) => [t.rule, t.outcome]),
      [
        ['read', 'matched'],
        ['big', 'error'],
        ['egress', 'not-applicable'],
      ],
    );
    const miss = engine.explain(call({ tool: 'api_get', http: { method: 'POST', path: '/x' }, args: { n: 1 } }));
    assert.match(miss.trace[0]!.reason, /method POST is not in \[GET\]/);
    assert.match(miss.trace[1]!.reason, /condition is false/);
  });
});
