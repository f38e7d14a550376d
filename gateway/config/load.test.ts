import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfigText } from './load.js';

const parse = (text: string) => parseConfigText(text, '/etc/portcullis/portcullis.yaml');

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.file, '/etc/portcullis/portcullis.yaml');
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('configuration loading', () => {
  it('refuses an empty configuration (empty file, comments only, or an empty mapping)', () => {
    for (const text of ['', '# nothing yet\n', '{}', '---\n']) {
      const problems = problemsOf(text);
      assert.match(problems[0]?.message ?? '', /the configuration is empty/, JSON.stringify(text));
    }
  });

  it('applies defaults to what a document leaves out', () => {
    const { config } = parse('agents: []');
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.listen.port, 8787);
    assert.equal(config.stores.kind, 'memory');
    assert.deepEqual(config.agents, []);
  });

  it('makes the operational limits configuration, with the defaults the gateway always had', () => {
    assert.deepEqual(parse('listen: { port: 0 }').config.limits, {
      callTimeoutMs: 120_000,
      catalogRequestTimeoutMs: 30_000,
      sessionTaskTtlSeconds: 86_400,
      requestTaskIdleSeconds: 1800,
      maxRequestTasksPerAgent: 10_000,
      approvalsGaugeIntervalSeconds: 15,
      upstreamStreamTimeoutSeconds: 604_800,
    });
    assert.equal(parse('limits: { callTimeoutMs: 5000 }').config.limits.callTimeoutMs, 5000);
    assert.equal(parse('limits: { callTimeoutMs: 5000 }').config.limits.catalogRequestTimeoutMs, 30_000);
    assert.equal(problemsOf('limits: { callTimeoutMs: 0 }')[0]?.path, 'limits.callTimeoutMs');
    assert.equal(parse('limits: { requestTaskIdleSeconds: 120 }').config.limits.requestTaskIdleSeconds, 120);
    assert.equal(problemsOf('limits: { requestTaskIdleSeconds: 59 }')[0]?.path, 'limits.requestTaskIdleSeconds');
    assert.match(problemsOf('limits: { callTimeout: 5 }')[0]?.message ?? '', /unknown key/);
  });

  it('rejects unknown keys with their path', () => {
    const problems = problemsOf('listen: { host: 127.0.0.1, prot: 80 }');
    assert.equal(problems[0]?.path, 'listen');
    assert.match(problems[0]?.message ?? '', /unknown key\(s\): prot/);
  });

  it('rejects bad values with the path to the key and what was expected', () => {
    const problems = problemsOf('agents:\n  - id: a\n    apiKeys: [{ sha256: nothex }]');
    assert.match(problems[0]?.path ?? '', /^agents\.0\.apiKeys\.0/);
    const port = problemsOf('listen: { port: 70000 }');
    assert.equal(port[0]?.path, 'listen.port');
  });

  it('rejects inline secrets: references must be env: or file:', () => {
    const problems = problemsOf('agents:\n  - id: a\n    apiKeys: [{ secret: hunter2 }]');
    assert.equal(problems[0]?.path, 'agents.0.apiKeys.0.secret');
    assert.match(problems[0]?.message ?? '', /env:NAME or file:PATH/);
    assert.ok(
      problems.every((p) => !p.message.includes('hunter2')),
      'the value is not echoed',
    );
  });

  it('rejects duplicate ids across entries', () => {
    const problems = problemsOf('agents:\n  - { id: a }\n  - { id: a }');
    assert.deepEqual(
      problems.map((p) => p.path),
      ['agents.1.id'],
    );
  });

  it('reports YAML syntax errors and duplicate keys', () => {
    assert.match(problemsOf('listen: [')[0]?.message ?? '', /^YAML/);
    assert.match(problemsOf('listen: {}\nlisten: {}')[0]?.message ?? '', /^YAML/);
  });

  it('refuses a YAML alias inside the node it names and numbers JSON cannot carry, saying where, and accepts aliases shared without a cycle', () => {
    const cyclic = [
      'connectors:',
      '  - id: api',
      '    kind: http',
      '    baseUrl: https://api.example.com',
      '    tools:',
      '      - name: loop',
      '        method: GET',
      '        path: /loop',
      '        inputSchema: &schema',
      '          type: object',
      '          properties:',
      '            inner: *schema',
    ].join('\n');
    assert.deepEqual(problemsOf(cyclic), [
      {
        path: 'connectors.0.tools.0.inputSchema.properties.inner',
        message: 'YAML: an alias here refers to a node that contains it; the value would contain itself',
      },
    ]);
    assert.equal(problemsOf('agents: &a [*a]')[0]?.path, 'agents.0');
    // Nor can JSON carry a number YAML can: refused where it stands, before the schema reads it.
    assert.deepEqual(problemsOf('listen: { port: .inf }'), [
      { path: 'listen.port', message: 'YAML: this value is not a finite number' },
    ]);

    const shared = parse(
      [
        'connectors:',
        '  - id: api',
        '    kind: http',
        '    baseUrl: https://api.example.com',
        '    tools:',
        '      - { name: one, method: GET, path: /one, inputSchema: &schema { type: object, properties: { q: { type: string } } } }',
        '      - { name: two, method: GET, path: /two, inputSchema: *schema }',
      ].join('\n'),
    );
    const connector = shared.config.connectors[0] as { tools: { inputSchema: unknown }[] };
    assert.deepEqual(connector.tools[1]?.inputSchema, connector.tools[0]?.inputSchema);
    assert.deepEqual(connector.tools[0]?.inputSchema, { type: 'object', properties: { q: { type: 'string' } } });
  });

  it('rejects allowedHosts entries that are not a host name or host:port', () => {
    const problems = problemsOf(
      'http: { allowedHosts: [gw.example.com, "gw.example.com:443", "https://gw.example.com/", "user@gw.example.com"] }',
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['http.allowedHosts.2', 'http.allowedHosts.3'],
    );
  });

  it('resolves relative paths against the file folder', () => {
    const { config } = parse('policy: { files: [policies/a.yaml] }\naudit: { file: ./audit.jsonl }');
    assert.deepEqual(config.policy.files, ['/etc/portcullis/policies/a.yaml']);
    assert.equal(config.audit.file, '/etc/portcullis/audit.jsonl');
  });
});
