import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { HttpConnectorConfigError } from './config.js';
import { importOpenApiTools, loadOpenApiDocument } from './openapi.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');

const doc = (paths: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths,
  ...extra,
});
const ok = { responses: { '200': { description: 'ok' } } };

describe('importOpenApiTools (fixture document)', async () => {
  const document = await loadOpenApiDocument('http-backend.openapi.yaml', fixtures);

  it('imports every supported operation and reports the rest', async () => {
    const { tools, warnings } = await importOpenApiTools(document);
    assert.deepEqual(
      tools.map((t) => t.name),
      ['listIssues', 'createIssue', 'getRepo', 'deleteRepo', 'getUser', 'createRefund', 'echo_request'],
    );
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /uploadAvatar\): skipped: request body media types \(multipart\/form-data\)/);
    assert.match(warnings.join('\n'), /cookie parameter "session" left out/);
  });

  it('builds the input schema from path-level and operation parameters and the JSON body, inlining $refs', async () => {
    const { tools } = await importOpenApiTools(document, { operationIds: ['createIssue', 'listIssues'] });
    const create = tools.find((t) => t.name === 'createIssue')!;
    assert.equal(create.method, 'POST');
    assert.equal(create.path, '/repos/{owner}/{repo}/issues');
    assert.deepEqual(create.body, { arg: 'body' });
    assert.deepEqual(create.inputSchema.required, ['owner', 'repo', 'body']);
    assert.equal(create.inputSchema['additionalProperties'], false);
    const body = create.inputSchema.properties!['body'] as Record<string, unknown>;
    assert.deepEqual((body['properties'] as Record<string, unknown>)['labels'], {
      type: 'array',
      items: { type: 'string', maxLength: 50 },
    });
    assert.equal(JSON.stringify(create).includes('$ref'), false);
    const list = tools.find((t) => t.name === 'listIssues')!;
    assert.deepEqual(list.query, { state: 'state', labels: 'labels' });
    assert.equal(list.title, 'List issues');
    assert.equal(list.description, 'List the issues of a repository.');
  });

  it('resolves $ref request bodies and converts 3.0 idioms', async () => {
    const { tools } = await importOpenApiTools(document, { operationIds: ['createRefund', 'echo.request'] });
    const refund = tools.find((t) => t.name === 'createRefund')!;
    const amount = (
      (refund.inputSchema.properties!['body'] as Record<string, unknown>)['properties'] as Record<
        string,
        Record<string, unknown>
      >
    )['amount']!;
    assert.deepEqual(amount, { type: 'integer', minimum: 1 }, 'boolean exclusiveMinimum: false is dropped');
    const echo = tools.find((t) => t.name === 'echo_request')!;
    assert.deepEqual(echo.inputSchema.properties!['q'], { type: ['string', 'null'] });
    assert.deepEqual(echo.headers, { 'X-Request-Id': 'X-Request-Id' });
  });

  it('selects by tags and by operationIds (either matches)', async () => {
    assert.deepEqual(
      (await importOpenApiTools(document, { tags: ['issues'] })).tools.map((t) => t.name),
      ['listIssues', 'createIssue'],
    );
    assert.deepEqual(
      (await importOpenApiTools(document, { tags: ['admin'], operationIds: ['getUser'] })).tools.map((t) => t.name),
      ['deleteRepo', 'getUser'],
    );
  });

  it('warns about selected operationIds that do not exist', async () => {
    const { tools, warnings } = await importOpenApiTools(document, { operationIds: ['getRepo', 'noSuchOperation'] });
    assert.deepEqual(
      tools.map((t) => t.name),
      ['getRepo'],
    );
    assert.deepEqual(warnings, ['operationId "noSuchOperation" was selected but is not in the document']);
  });
});

describe('importOpenApiTools (shapes)', () => {
  it('rejects documents that are not OpenAPI 3.0/3.1', async () => {
    await assert.rejects(async () => importOpenApiTools({ swagger: '2.0', paths: {} }), HttpConnectorConfigError);
    await assert.rejects(async () => importOpenApiTools({ openapi: '3.0.0' }), HttpConnectorConfigError);
    await assert.rejects(async () => importOpenApiTools('openapi: 3.0.0'), HttpConnectorConfigError);
  });

  it('skips recursive and external $refs with a warning', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc(
        {
          '/nodes': {
            post: {
              operationId: 'createNode',
              requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } },
              ...ok,
            },
          },
          '/ext': {
            post: {
              operationId: 'external',
              requestBody: { content: { 'application/json': { schema: { $ref: 'other.yaml#/X' } } } },
              ...ok,
            },
          },
          '/missing': {
            post: {
              operationId: 'missing',
              requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } },
              ...ok,
            },
          },
        },
        {
          components: {
            schemas: { Node: { type: 'object', properties: { child: { $ref: '#/components/schemas/Node' } } } },
          },
        },
      ),
    );
    assert.deepEqual(tools, []);
    assert.match(warnings[0]!, /createNode\): skipped: recursive schema \$ref/);
    assert.match(warnings[1]!, /external\): skipped: external \$ref/);
    assert.match(warnings[2]!, /missing\): skipped: \$ref "#\/components\/schemas\/Nope" does not resolve/);
  });

  it('skips operations whose required inputs cannot be sent and leaves out optional ones', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc({
        '/a': {
          get: {
            operationId: 'needsAuthHeader',
            parameters: [{ name: 'Authorization', in: 'header', required: true, schema: { type: 'string' } }],
            ...ok,
          },
        },
        '/b': {
          get: {
            operationId: 'optionalAuthHeader',
            parameters: [{ name: 'Authorization', in: 'header', schema: { type: 'string' } }],
            ...ok,
          },
        },
        '/c': {
          get: {
            operationId: 'deepObject',
            parameters: [{ name: 'f', in: 'query', required: true, style: 'deepObject', schema: { type: 'object' } }],
            ...ok,
          },
        },
        '/d/{id}': {
          get: {
            operationId: 'numberPath',
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'number' } }],
            ...ok,
          },
        },
        '/e': {
          get: { operationId: 'getWithBody', requestBody: { content: { 'application/json': { schema: {} } } }, ...ok },
        },
        '/f/{x}': { get: { operationId: 'undeclaredPathParam', ...ok } },
        '/g': { options: { operationId: 'opts', ...ok } },
      }),
    );
    assert.deepEqual(
      tools.map((t) => t.name),
      ['optionalAuthHeader'],
    );
    assert.equal(tools[0]!.headers, undefined);
    const text = warnings.join('\n');
    assert.match(text, /needsAuthHeader\): skipped: header parameter "Authorization": the gateway owns this header/);
    assert.match(text, /optionalAuthHeader\): header parameter "Authorization" left out/);
    assert.match(text, /deepObject\): skipped: query parameter "f": style "deepObject"/);
    assert.match(text, /numberPath\): skipped: path parameter "id" must be a string or integer/);
    assert.match(text, /getWithBody\): skipped: GET with a request body/);
    assert.match(
      text,
      /undeclaredPathParam\): skipped: path parameter "x" must be a required string or integer property/,
    );
    assert.match(text, /opts\): skipped: method OPTIONS is not supported/);
  });

  it('skips path templates the path rules refuse', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc({ '/a/../admin': { get: { operationId: 'climb', ...ok } } }),
    );
    assert.deepEqual(tools, []);
    assert.match(warnings[0]!, /climb\): skipped: .*"\.\."/);
  });

  it('sanitises names, derives missing ones and skips clashes', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc({
        '/a': { get: { operationId: 'repos/list all', ...ok }, post: { ...ok } },
        '/b': { get: { operationId: 'repos_list_all', ...ok } },
      }),
    );
    assert.deepEqual(
      tools.map((t) => t.name),
      ['repos_list_all', 'post_a'],
    );
    assert.match(warnings[0]!, /GET \/b \(repos_list_all\): skipped: tool name "repos_list_all" is already taken/);
  });

  it('keeps a body property named __proto__ as a property, inline and through a $ref', async () => {
    const schema = {
      type: 'object',
      properties: { PROTO: { type: 'string' }, ref: { $ref: '#/components/schemas/R' } },
    };
    const text = JSON.stringify(
      doc(
        { '/x': { post: { operationId: 'x', requestBody: { content: { 'application/json': { schema } } }, ...ok } } },
        { components: { schemas: { R: { type: 'object', properties: { PROTO: { type: 'integer' } } } } } },
      ),
    ).replaceAll('"PROTO"', '"__proto__"');
    const { tools } = await importOpenApiTools(JSON.parse(text) as object);
    const body = tools[0]!.inputSchema.properties!['body'] as { properties: Record<string, unknown> };
    for (const [properties, type] of [
      [body.properties, 'string'],
      [(body.properties['ref'] as { properties: Record<string, unknown> }).properties, 'integer'],
    ] as const) {
      assert.equal(Object.getPrototypeOf(properties), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value, { type });
    }
    assert.match(JSON.stringify(tools[0]!.inputSchema), /"__proto__":\{"type":"string"\}/);
  });

  it('marks OpenAPI 3.1 schemas as JSON Schema 2020-12 and keeps $ref siblings', async () => {
    const { tools } = await importOpenApiTools({
      openapi: '3.1.0',
      paths: {
        '/x': {
          post: {
            operationId: 'x',
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/X', description: 'the x' } } },
            },
            ...ok,
          },
        },
      },
      components: { schemas: { X: { type: ['object', 'null'] } } },
    });
    assert.equal(tools[0]!.inputSchema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(tools[0]!.inputSchema.properties!['body'], { type: ['object', 'null'], description: 'the x' });
  });
});

describe('loadOpenApiDocument', () => {
  it('reads JSON and YAML relative to baseDir, and refuses a relative path without one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-openapi-'));
    try {
      await writeFile(path.join(dir, 'api.json'), JSON.stringify(doc({ '/x': { get: { operationId: 'x', ...ok } } })));
      const loaded = await loadOpenApiDocument('api.json', dir);
      assert.deepEqual(
        (await importOpenApiTools(loaded)).tools.map((t) => t.name),
        ['x'],
      );
      await assert.rejects(loadOpenApiDocument('api.json'), HttpConnectorConfigError);
      await assert.rejects(
        loadOpenApiDocument('missing.yaml', dir),
        /cannot read OpenAPI document missing.yaml: ENOENT/,
      );
      await writeFile(path.join(dir, 'bad.yaml'), 'openapi: [unclosed');
      await assert.rejects(loadOpenApiDocument('bad.yaml', dir), HttpConnectorConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('importOpenApiTools (scale, names, reserved expansion)', () => {
  /** An object schema with `width` string properties, `depth` levels deep: about width^depth nodes. */
  const wide = (width: number, depth: number): Record<string, unknown> =>
    depth === 0
      ? { type: 'string' }
      : {
          type: 'object',
          properties: Object.fromEntries(Array.from({ length: width }, (_, i) => [`p${i}`, wide(width, depth - 1)])),
        };

  it('bounds each tool on its own: many moderately large operations all import', async () => {
    // 40 operations of ~4,000 nodes each: 160,000 in all, every one far below the per-tool bound.
    const paths = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `/things${i}`,
        {
          post: {
            operationId: `create${i}`,
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Big' } } } },
            ...ok,
          },
        },
      ]),
    );
    const { tools, warnings } = await importOpenApiTools(doc(paths, { components: { schemas: { Big: wide(20, 2) } } }));
    assert.deepEqual(warnings, []);
    assert.equal(tools.length, 40);
  });

  it('skips one oversized tool with the size in the reason', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc({
        '/huge': {
          post: {
            operationId: 'huge',
            requestBody: { content: { 'application/json': { schema: wide(30, 3) } } },
            ...ok,
          },
        },
        '/small': { get: { operationId: 'small', ...ok } },
      }),
    );
    assert.deepEqual(
      tools.map((t) => t.name),
      ['small'],
    );
    assert.match(
      warnings[0]!,
      /POST \/huge \(huge\): skipped: the input schema has more than 20000 nodes once \$refs are inlined/,
    );
  });

  it('dereferences only the selected operations, and only their inputs', async () => {
    const document = doc(
      {
        '/a': {
          post: {
            operationId: 'a',
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/A' } } } },
            responses: { '200': { $ref: '#/components/responses/R' } },
          },
        },
        '/b': {
          post: {
            operationId: 'b',
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Broken' } } } },
            ...ok,
          },
        },
      },
      {
        components: {
          schemas: { A: { type: 'object', properties: { n: { type: 'integer' } } } },
          responses: { R: { description: 'r', content: { 'application/json': { schema: { $ref: '#/nowhere' } } } } },
        },
      },
    );
    const { tools, warnings } = await importOpenApiTools(document, { operationIds: ['a'] });
    // A broken $ref in a response or in an unselected operation is never followed.
    assert.deepEqual(warnings, []);
    assert.deepEqual((tools[0]!.inputSchema.properties!['body'] as Record<string, unknown>)['properties'], {
      n: { type: 'integer' },
    });
    const paths = document['paths'] as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(paths['/a']!['post']!['responses'], { '200': { $ref: '#/components/responses/R' } });
  });

  it('gives long operationIds that share a prefix distinct, stable names', async () => {
    const prefix = 'orgs/custom-properties-for-repos-create-or-update-organization-definition';
    const { tools, warnings } = await importOpenApiTools(
      doc({
        '/a': { put: { operationId: `${prefix}`, ...ok } },
        '/b': { put: { operationId: `${prefix}s`, ...ok } },
      }),
    );
    assert.deepEqual(warnings, []);
    const names = tools.map((t) => t.name);
    assert.equal(new Set(names).size, 2);
    for (const name of names)
      assert.match(name, /^orgs_custom-properties-for-repos-create-or-update-organ_[0-9a-f]{8}$/);
    const again = await importOpenApiTools(doc({ '/a': { put: { operationId: prefix, ...ok } } }));
    assert.equal(again.tools[0]!.name, names[0]);
  });

  it('turns allowReserved and x-multi-segment path parameters into {+name}', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc(
        {
          '/repos/{owner}/contents/{path}': {
            get: {
              operationId: 'getContent',
              parameters: [
                { name: 'owner', in: 'path', required: true, schema: { type: 'string' } },
                { $ref: '#/components/parameters/path' },
              ],
              ...ok,
            },
          },
          '/refs/{ref}/status': {
            get: {
              operationId: 'refStatus',
              parameters: [
                { name: 'ref', in: 'path', required: true, allowReserved: true, schema: { type: 'string' } },
              ],
              ...ok,
            },
          },
          '/plain/{id}': {
            get: {
              operationId: 'plain',
              parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
              ...ok,
            },
          },
        },
        {
          components: {
            parameters: {
              path: { name: 'path', in: 'path', required: true, 'x-multi-segment': true, schema: { type: 'string' } },
            },
          },
        },
      ),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      tools.map((t) => t.path),
      ['/repos/{owner}/contents/{+path}', '/refs/{+ref}/status', '/plain/{id}'],
    );
  });

  it('skips reserved expansion where it cannot be a whole segment or a string, saying why', async () => {
    const { tools, warnings } = await importOpenApiTools(
      doc({
        '/files/{name}.json': {
          get: {
            operationId: 'file',
            parameters: [{ name: 'name', in: 'path', required: true, allowReserved: true, schema: { type: 'string' } }],
            ...ok,
          },
        },
        '/items/{n}': {
          get: {
            operationId: 'item',
            parameters: [
              { name: 'n', in: 'path', required: true, 'x-multi-segment': true, schema: { type: 'integer' } },
            ],
            ...ok,
          },
        },
      }),
    );
    assert.deepEqual(tools, []);
    assert.match(
      warnings[0]!,
      /file\): skipped: a reserved-expansion parameter \(\{\+name\}\) must be a whole path segment/,
    );
    assert.match(warnings[1]!, /item\): skipped: path parameter "n" allows reserved characters but is an integer/);
  });
});

describe('importOpenApiTools (mutual recursion across operations)', () => {
  it('skips every operation that reaches a cycle, whichever operation is imported first', async () => {
    const body = (schema: string) => ({
      requestBody: { content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } },
      ...ok,
    });
    const document = doc(
      {
        '/a': { post: { operationId: 'postA', ...body('A') } },
        '/b': { post: { operationId: 'postB', ...body('B') } },
        '/c': { post: { operationId: 'postC', ...body('C') } },
      },
      {
        components: {
          schemas: {
            A: { type: 'object', properties: { b: { $ref: '#/components/schemas/B' } } },
            B: { type: 'object', properties: { a: { $ref: '#/components/schemas/A' } } },
            C: { type: 'object', properties: { name: { type: 'string' } } },
          },
        },
      },
    );
    const { tools, warnings } = await importOpenApiTools(document);
    assert.deepEqual(
      tools.map((t) => t.name),
      ['postC'],
    );
    assert.equal(warnings.length, 2);
    assert.match(
      warnings[0]!,
      /postA\): skipped: (recursive schema \$ref "#\/components\/schemas\/A"|a schema contains itself)/,
    );
    assert.match(
      warnings[1]!,
      /postB\): skipped: (recursive schema \$ref "#\/components\/schemas\/B"|a schema contains itself)/,
    );
  });
});

describe('importOpenApiTools (external references are never fetched)', () => {
  it('reads no file and sends no request for an external $ref', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.setHeader('content-type', 'application/json');
      res.end('{"type":"object"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-openapi-ext-'));
    try {
      const schemaFile = path.join(dir, 'schema.json');
      await writeFile(schemaFile, '{"type":"object"}');
      const post = (ref: string) => ({
        requestBody: { content: { 'application/json': { schema: { $ref: ref } } } },
        ...ok,
      });
      const { tools, warnings } = await importOpenApiTools(
        doc({
          '/http': { post: { operationId: 'viaHttp', ...post(`http://127.0.0.1:${port}/schema.json`) } },
          '/file': { post: { operationId: 'viaFile', ...post(`file://${schemaFile}`) } },
          '/path': { post: { operationId: 'viaPath', ...post(schemaFile) } },
        }),
      );
      assert.deepEqual(tools, []);
      assert.equal(warnings.length, 3);
      for (const warning of warnings) assert.match(warning, /skipped: external \$ref ".+" is not supported/);
      assert.equal(requests, 0, 'no request reached the server');
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('importOpenApiTools (pathological nesting)', () => {
  it('skips an operation whose schema nests too deeply, saying so', async () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 600; i++) schema = { type: 'object', properties: { next: schema } };
    const { tools, warnings } = await importOpenApiTools(
      doc({
        '/deep': {
          post: { operationId: 'deep', requestBody: { content: { 'application/json': { schema } } }, ...ok },
        },
        '/fine': { get: { operationId: 'fine', ...ok } },
      }),
    );
    assert.deepEqual(
      tools.map((t) => t.name),
      ['fine'],
    );
    assert.match(warnings[0]!, /deep\): skipped: its schemas nest too deeply to inline$/);
  });
});
