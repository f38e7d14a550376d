import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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

  it('imports every supported operation and reports the rest', () => {
    const { tools, warnings } = importOpenApiTools(document);
    assert.deepEqual(
      tools.map((t) => t.name),
      ['listIssues', 'createIssue', 'getRepo', 'deleteRepo', 'getUser', 'createRefund', 'echo_request'],
    );
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /uploadAvatar\): skipped: request body media types \(multipart\/form-data\)/);
    assert.match(warnings.join('\n'), /cookie parameter "session" left out/);
  });

  it('builds the input schema from path-level and operation parameters and the JSON body, inlining $refs', () => {
    const { tools } = importOpenApiTools(document, { operationIds: ['createIssue', 'listIssues'] });
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

  it('resolves $ref request bodies and converts 3.0 idioms', () => {
    const { tools } = importOpenApiTools(document, { operationIds: ['createRefund', 'echo.request'] });
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

  it('selects by tags and by operationIds (either matches)', () => {
    assert.deepEqual(
      importOpenApiTools(document, { tags: ['issues'] }).tools.map((t) => t.name),
      ['listIssues', 'createIssue'],
    );
    assert.deepEqual(
      importOpenApiTools(document, { tags: ['admin'], operationIds: ['getUser'] }).tools.map((t) => t.name),
      ['deleteRepo', 'getUser'],
    );
  });

  it('warns about selected operationIds that do not exist', () => {
    const { tools, warnings } = importOpenApiTools(document, { operationIds: ['getRepo', 'noSuchOperation'] });
    assert.deepEqual(
      tools.map((t) => t.name),
      ['getRepo'],
    );
    assert.deepEqual(warnings, ['operationId "noSuchOperation" was selected but is not in the document']);
  });
});

describe('importOpenApiTools (shapes)', () => {
  it('rejects documents that are not OpenAPI 3.0/3.1', () => {
    assert.throws(() => importOpenApiTools({ swagger: '2.0', paths: {} }), HttpConnectorConfigError);
    assert.throws(() => importOpenApiTools({ openapi: '3.0.0' }), HttpConnectorConfigError);
    assert.throws(() => importOpenApiTools('openapi: 3.0.0'), HttpConnectorConfigError);
  });

  it('skips recursive and external $refs with a warning', () => {
    const { tools, warnings } = importOpenApiTools(
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

  it('skips operations whose required inputs cannot be sent and leaves out optional ones', () => {
    const { tools, warnings } = importOpenApiTools(
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

  it('skips path templates the path rules refuse', () => {
    const { tools, warnings } = importOpenApiTools(doc({ '/a/../admin': { get: { operationId: 'climb', ...ok } } }));
    assert.deepEqual(tools, []);
    assert.match(warnings[0]!, /climb\): skipped: .*"\.\."/);
  });

  it('sanitises names, derives missing ones and skips clashes', () => {
    const { tools, warnings } = importOpenApiTools(
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

  it('marks OpenAPI 3.1 schemas as JSON Schema 2020-12 and keeps $ref siblings', () => {
    const { tools } = importOpenApiTools({
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
        importOpenApiTools(loaded).tools.map((t) => t.name),
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
