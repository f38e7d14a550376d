import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpToolSpecSchema } from './http/config.js';
import { importOpenApiTools } from './http/openapi.js';
import { McpHttpConfigSchema } from './mcp/config.js';

const METHOD_OVERRIDES = ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override'];
const ROUTING = ['X-Original-URL', 'X-Rewrite-URL', 'Forwarded', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'Host'];
const HOP_BY_HOP = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade'];

function toolWith(mapping: { headers?: Record<string, string>; query?: Record<string, string> }) {
  return HttpToolSpecSchema.safeParse({
    name: 'update',
    method: 'POST',
    path: '/items',
    inputSchema: { type: 'object', properties: { value: { type: 'string' } } },
    ...mapping,
  });
}

describe('method and routing names in configured tools', () => {
  for (const name of [...METHOD_OVERRIDES, ...ROUTING, ...HOP_BY_HOP, 'x-http-method-override']) {
    it(`header ${name} is a configuration error`, () => {
      const parsed = toolWith({ headers: { [name]: 'value' } });
      assert.equal(parsed.success, false);
      const issue = parsed.error!.issues.find((i) => i.path.join('.') === `headers.${name}`);
      assert.ok(issue !== undefined, JSON.stringify(parsed.error!.issues));
      assert.match(issue.message, /cannot be (mapped|set)/);
    });
  }
  for (const name of ['_method', '_METHOD', 'X-HTTP-Method-Override']) {
    it(`query parameter ${name} is a configuration error`, () => {
      const parsed = toolWith({ query: { [name]: 'value' } });
      assert.equal(parsed.success, false);
      assert.match(parsed.error!.issues[0]!.message, /override the request method/);
    });
  }
  it('ordinary names still map', () => {
    assert.equal(toolWith({ headers: { 'X-Request-Tag': 'value' }, query: { method: 'value' } }).success, true);
  });
  it('static headers of an HTTP upstream MCP server follow the same rule', () => {
    const base = { id: 'up', kind: 'mcp', transport: 'http', url: 'https://mcp.example/mcp' };
    assert.equal(McpHttpConfigSchema.safeParse({ ...base, headers: { 'x-team': 'a' } }).success, true);
    const parsed = McpHttpConfigSchema.safeParse({ ...base, headers: { 'X-HTTP-Method-Override': 'DELETE' } });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error!.issues[0]!.path, ['headers', 'X-HTTP-Method-Override']);
  });
});

describe('method and routing parameters in imported OpenAPI operations', () => {
  const parameters = [
    { name: 'X-HTTP-Method-Override', in: 'header', required: true, schema: { type: 'string' } },
    { name: 'X-Original-URL', in: 'header', schema: { type: 'string' } },
    { name: '_method', in: 'query', schema: { type: 'string' } },
    { name: 'X-Request-Tag', in: 'header', schema: { type: 'string' } },
    { name: 'limit', in: 'query', schema: { type: 'integer' } },
  ];
  const document = {
    openapi: '3.0.3',
    info: { title: 't', version: '1' },
    paths: {
      '/items': {
        post: { operationId: 'createItem', parameters, responses: { '200': { description: 'ok' } } },
        get: { operationId: 'listItems', parameters: parameters.slice(3), responses: { '200': { description: 'ok' } } },
      },
    },
  };

  it('are left out of the tool, with one warning for the operation, and the operation is still imported', async () => {
    const { tools, warnings } = await importOpenApiTools(document);
    const create = tools.find((t) => t.name === 'createItem');
    assert.ok(create !== undefined);
    assert.deepEqual(Object.keys(create.inputSchema.properties ?? {}).sort(), ['X-Request-Tag', 'limit']);
    assert.deepEqual(create.headers, { 'X-Request-Tag': 'X-Request-Tag' });
    assert.deepEqual(create.query, { limit: 'limit' });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /createItem/);
    for (const name of ['X-HTTP-Method-Override', 'X-Original-URL', '_method'])
      assert.match(warnings[0]!, new RegExp(name));
    // The operation without such parameters imports silently.
    assert.ok(tools.some((t) => t.name === 'listItems'));
  });
});
