import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpConnectorConfigSchema, isForbiddenHeaderName } from './config.js';

const tool = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'list_issues',
  method: 'GET',
  path: '/repos/{owner}/{repo}/issues',
  inputSchema: {
    type: 'object',
    properties: {
      owner: { type: 'string' },
      repo: { type: 'string' },
      state: { type: 'string' },
      n: { type: 'integer' },
      title: { type: 'string' },
    },
    required: ['owner', 'repo'],
  },
  ...overrides,
});

const config = (overrides: Record<string, unknown> = {}) => ({
  id: 'git',
  kind: 'http',
  baseUrl: 'https://api.example.com/v1',
  tools: [tool()],
  ...overrides,
});

/** The messages of a failed parse (asserts that it failed). */
function problems(input: unknown): string {
  const result = HttpConnectorConfigSchema.safeParse(input);
  assert.equal(result.success, false, 'expected the configuration to be rejected');
  return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
}

describe('HttpConnectorConfigSchema', () => {
  it('accepts a valid configuration and fills defaults', () => {
    const parsed = HttpConnectorConfigSchema.parse(config());
    assert.equal(parsed.timeoutMs, 30_000);
    assert.equal(parsed.maxResponseBytes, 5 * 1024 * 1024);
    assert.equal(parsed.tools?.[0]?.name, 'list_issues');
  });

  it('rejects unknown keys at every level', () => {
    assert.match(problems(config({ retries: 3 })), /retries/);
    assert.match(problems(config({ tools: [tool({ url: 'https://x' })] })), /url/);
    assert.match(problems(config({ tools: [tool({ response: { mode: 'auto', follow: true } })] })), /follow/);
    assert.match(problems(config({ tools: [tool({ body: { arg: 'title', extra: 1 } })] })), /body/);
  });

  for (const [baseUrl, pattern] of [
    ['ftp://api.example.com', /http or https/],
    ['https://user:pw@api.example.com', /credentials/],
    ['https://api.example.com/v1?key=1', /query or fragment/],
    ['https://api.example.com/v1#x', /query or fragment/],
    ['https://api.example.com/v1/%2F', /baseUrl path/],
    ['https://api.example.com\\v1', /"\\"/],
    ['not a url', /absolute/],
  ] as const) {
    it(`rejects baseUrl ${baseUrl}`, () => assert.match(problems(config({ baseUrl })), pattern));
  }

  it('rejects ids and tool names outside their patterns', () => {
    assert.match(problems(config({ id: 'Git_Hub' })), /connector id/);
    assert.match(problems(config({ tools: [tool({ name: 'has space' })] })), /tool name/);
    assert.match(problems(config({ tools: [tool({ name: 'x'.repeat(65) })] })), /tool name/);
  });

  it('rejects duplicate tool names', () => {
    assert.match(problems(config({ tools: [tool(), tool()] })), /duplicate tool name "list_issues"/);
  });

  it('needs tools or openapi', () => {
    assert.match(problems({ id: 'git', kind: 'http', baseUrl: 'https://api.example.com' }), /needs `tools`, `openapi`/);
  });

  for (const [path, pattern] of [
    ['https://evil.example/x', /scheme/],
    ['//evil.example/x', /host/],
    ['/x?admin=true', /"\?"/],
    ['/x#y', /"#"/],
    ['/a/../admin', /\.\./],
    ['/a//b', /empty segment/],
  ] as const) {
    it(`rejects path template ${path}`, () =>
      assert.match(problems(config({ tools: [tool({ path, inputSchema: { type: 'object' } })] })), pattern));
  }

  it('requires every path parameter to be a required string/integer property', () => {
    const missing = tool({ path: '/users/{id}', inputSchema: { type: 'object', properties: {} } });
    assert.match(problems(config({ tools: [missing] })), /path parameter "id"/);
    const optional = tool({
      path: '/users/{id}',
      inputSchema: { type: 'object', properties: { id: { type: 'string' } } },
    });
    assert.match(problems(config({ tools: [optional] })), /path parameter "id"/);
    const object = tool({
      path: '/users/{id}',
      inputSchema: { type: 'object', properties: { id: { type: 'object' } }, required: ['id'] },
    });
    assert.match(problems(config({ tools: [object] })), /path parameter "id"/);
    const integer = tool({
      path: '/users/{id}',
      inputSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
    });
    assert.equal(HttpConnectorConfigSchema.safeParse(config({ tools: [integer] })).success, true);
  });

  it('requires inputSchema to be an object schema', () => {
    assert.match(
      problems(config({ tools: [tool({ path: '/x', inputSchema: { type: 'array' } as never })] })),
      /type: object/,
    );
  });

  it('refuses gateway-owned headers', () => {
    for (const header of [
      'Authorization',
      'cookie',
      'Host',
      'X-Forwarded-For',
      'x-portcullis-agent',
      'Proxy-Authorization',
      'traceparent',
      'Content-Length',
    ]) {
      assert.match(
        problems(config({ tools: [tool({ headers: { [header]: 'state' } })] })),
        /cannot be set from an argument|cannot be mapped: it (would|is a hop-by-hop)/,
        header,
      );
    }
    assert.equal(
      HttpConnectorConfigSchema.safeParse(config({ tools: [tool({ headers: { 'X-Request-Id': 'state' } })] })).success,
      true,
    );
  });

  it('refuses mappings to undeclared arguments', () => {
    assert.match(problems(config({ tools: [tool({ query: { q: 'nope' } })] })), /query parameter "q" maps to "nope"/);
    assert.match(problems(config({ tools: [tool({ headers: { 'x-a': 'nope' } })] })), /header "x-a" maps to "nope"/);
    assert.match(
      problems(config({ tools: [tool({ method: 'POST', body: { args: ['title', 'nope'] } })] })),
      /body maps "nope"/,
    );
  });

  it('refuses a body on GET and HEAD', () => {
    assert.match(problems(config({ tools: [tool({ body: { arg: 'title' } })] })), /GET requests cannot carry a body/);
    assert.match(
      problems(config({ tools: [tool({ method: 'HEAD', body: { args: ['title'] } })] })),
      /HEAD requests cannot carry a body/,
    );
  });

  it('rejects unsupported methods and response modes', () => {
    assert.match(problems(config({ tools: [tool({ method: 'TRACE' as never })] })), /method/);
    assert.match(problems(config({ tools: [tool({ response: { mode: 'xml' as never } })] })), /mode/);
  });
});

describe('isForbiddenHeaderName', () => {
  it('is case-insensitive and covers prefixes', () => {
    assert.equal(isForbiddenHeaderName('AUTHORIZATION'), true);
    assert.equal(isForbiddenHeaderName('X-Forwarded-Host'), true);
    assert.equal(isForbiddenHeaderName('X-Portcullis-Task'), true);
    assert.equal(isForbiddenHeaderName('X-Api-Version'), false);
  });
});
