import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, parsePolicyObject } from '../../policies/index.js';
import { baselineRules } from '../services/policy/index.js';
import { ConfigError, parseConfigText } from './load.js';

const parse = (text: string) => parseConfigText(text, '/etc/portcullis/portcullis.yaml');

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

const connectors = `
connectors:
  - { id: crm, kind: http, baseUrl: 'http://crm.internal:8080', tools: [{ name: t, method: GET, path: /t, inputSchema: { type: object } }] }
  - { id: web, kind: http, baseUrl: 'https://web.example', tools: [{ name: t, method: GET, path: /t, inputSchema: { type: object } }] }
`;

describe('per-connector private allowances', () => {
  it('the global egress.allowPrivate is a configuration error that says where the ranges go', () => {
    const problems = problemsOf(`${connectors}\negress: { allowPrivate: [10.0.0.0/8] }`);
    assert.equal(problems[0]?.path, 'egress.allowPrivate');
    assert.match(problems[0]?.message ?? '', /egress: \{ connectors: \{ crm: \{ allowPrivate/);
  });

  it('an allowance for an unknown connector is a configuration error', () => {
    const problems = problemsOf(`${connectors}\negress: { connectors: { crn: { allowPrivate: [loopback] } } }`);
    assert.deepEqual(problems, [{ path: 'egress.connectors.crn', message: 'unknown connector "crn"' }]);
  });

  it('entries are CIDRs or address classes', () => {
    const problems = problemsOf(`${connectors}\negress: { connectors: { crm: { allowPrivate: [intranet] } } }`);
    assert.equal(problems[0]?.path, 'egress.connectors.crm.allowPrivate.0');
    assert.match(problems[0]?.message ?? '', /CIDR .* or an address class/);
  });

  it('opens the named destinations to that connector only', () => {
    const { config } = parse(
      `${connectors}\negress: { connectors: { crm: { allowPrivate: [10.20.0.0/16, loopback] } } }`,
    );
    const engine = compilePolicy([
      parsePolicyObject({ version: 1, name: 'baseline', rules: baselineRules(config) }, 'baseline'),
    ]);
    const decide = (connector: string, host: string, port: number, scheme: string, ip: string) =>
      engine.evaluateEgress({ connector, host, port, scheme, ip }).effect;
    assert.equal(decide('crm', 'crm.internal', 8080, 'http', '10.20.1.2'), 'allow');
    assert.equal(decide('crm', 'crm.internal', 8080, 'http', '::ffff:10.20.1.2'), 'allow');
    assert.equal(decide('crm', 'crm.internal', 8080, 'http', '127.0.0.1'), 'allow');
    assert.equal(decide('crm', 'crm.internal', 8080, 'http', '10.21.0.1'), 'deny');
    assert.equal(decide('crm', 'crm.internal', 8080, 'http', '169.254.169.254'), 'deny');
    // The other connector's host resolving inward gets nothing of crm's allowance.
    assert.equal(decide('web', 'web.example', 443, 'https', '10.20.1.2'), 'deny');
    assert.equal(decide('web', 'web.example', 443, 'https', '127.0.0.1'), 'deny');
    assert.equal(decide('web', 'web.example', 443, 'https', '93.184.216.34'), 'allow');
  });
});
