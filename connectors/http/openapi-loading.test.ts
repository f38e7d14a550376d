/**
 * The OpenAPI importer's `$ref` parser is loaded by the first connector that imports an OpenAPI document:
 * a gateway whose HTTP connectors declare their tools in YAML does not load it. Each test file runs in a
 * process of its own; module loads are seen through a resolve hook registered before the connector loads.
 */
import assert from 'node:assert/strict';
import { registerHooks } from 'node:module';
import { describe, it } from 'node:test';

const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.push(result.url);
    return result;
  },
});
const refParserLoaded = (): boolean => resolved.some((url) => url.includes('/json-schema-ref-parser/'));

const { createHttpConnector } = await import('./connector.js');

const catalog = { signal: new AbortController().signal, fetch: globalThis.fetch };
const tool = {
  name: 'list_issues',
  method: 'GET' as const,
  path: '/issues',
  inputSchema: { type: 'object' as const, properties: {}, additionalProperties: false },
};

describe('the OpenAPI $ref parser', () => {
  it('is not loaded for tools declared in YAML; the first OpenAPI import loads it', async () => {
    assert.equal(refParserLoaded(), false, 'loading the connector module loaded the parser');
    const declared = await createHttpConnector({
      id: 'yaml',
      kind: 'http',
      baseUrl: 'https://api.example.com',
      tools: [tool],
    });
    assert.deepEqual(
      (await declared.listTools(catalog)).map((t) => t.name),
      ['list_issues'],
    );
    assert.equal(refParserLoaded(), false, 'a connector without an OpenAPI document loaded the parser');

    const document = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/items/{id}': {
          parameters: [{ $ref: '#/components/parameters/Id' }],
          get: { operationId: 'get_item', responses: {} },
        },
      },
      components: { parameters: { Id: { name: 'id', in: 'path', required: true, schema: { type: 'integer' } } } },
    };
    const imported = await createHttpConnector({
      id: 'oas',
      kind: 'http',
      baseUrl: 'https://api.example.com',
      openapi: { document },
    });
    const [item] = await imported.listTools(catalog);
    assert.equal(item?.name, 'get_item');
    assert.deepEqual(item?.inputSchema['required'], ['id']);
    assert.equal(refParserLoaded(), true);
  });
});
