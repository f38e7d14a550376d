/**
 * The connector without a network: creation errors, the catalog, and what `prepareCall` computes. Calls
 * that reach a backend are tested against a real server in test/connectors-http.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ConnectorContext, FetchLike } from '../contract.js';
import { ConnectorError } from '../errors.js';
import { HttpConnectorConfigError } from './config.js';
import { createHttpConnector } from './connector.js';

const listIssues = {
  name: 'list_issues',
  method: 'GET' as const,
  path: '/repos/{owner}/{repo}/issues',
  inputSchema: {
    type: 'object' as const,
    properties: {
      owner: { type: 'string' },
      repo: { type: 'string' },
      state: { type: 'string', enum: ['open', 'closed'] },
      labels: { type: 'array', items: { type: 'string' } },
      trace: { type: 'string' },
    },
    required: ['owner', 'repo'],
    additionalProperties: false,
  },
  query: { state: 'state', label: 'labels' },
  headers: { 'X-Trace-Tag': 'trace' },
  annotations: { readOnlyHint: true },
};

const createIssue = {
  name: 'create_issue',
  title: 'Create an issue',
  method: 'POST' as const,
  path: '/repos/{owner}/{repo}/issues',
  inputSchema: {
    type: 'object' as const,
    properties: {
      owner: { type: 'string' },
      repo: { type: 'string' },
      title: { type: 'string' },
      body: { type: 'string' },
    },
    required: ['owner', 'repo', 'title'],
  },
  body: { args: ['title', 'body'] },
};

const base = {
  id: 'git',
  kind: 'http' as const,
  baseUrl: 'https://api.example.com/v1',
  tools: [listIssues, createIssue],
};

function recordingContext(): { ctx: ConnectorContext; calls: string[] } {
  const calls: string[] = [];
  const fetch: FetchLike = async (input) => {
    calls.push(String(input));
    return new Response('{}', { headers: { 'content-type': 'application/json' } });
  };
  return { ctx: { callId: 'c1', signal: new AbortController().signal, fetch, meta: {} }, calls };
}

describe('createHttpConnector', () => {
  it('lists tools with their operation template', async () => {
    const connector = await createHttpConnector(base);
    const tools = await connector.listTools({ signal: new AbortController().signal, fetch: globalThis.fetch });
    assert.deepEqual(
      tools.map((t) => [t.name, t.operation]),
      [
        [
          'list_issues',
          {
            method: 'GET',
            pathTemplate: '/v1/repos/{owner}/{repo}/issues',
            scheme: 'https',
            host: 'api.example.com',
            port: 443,
          },
        ],
        [
          'create_issue',
          {
            method: 'POST',
            pathTemplate: '/v1/repos/{owner}/{repo}/issues',
            scheme: 'https',
            host: 'api.example.com',
            port: 443,
          },
        ],
      ],
    );
    assert.deepEqual(tools[0]!.annotations, { readOnlyHint: true });
    assert.equal(tools[1]!.title, 'Create an issue');
    assert.equal(connector.kind, 'http');
    await connector.close();
  });

  it('refuses an invalid configuration, a schema that does not compile, and name clashes with OpenAPI', async () => {
    await assert.rejects(
      createHttpConnector({ ...base, baseUrl: 'https://x.example/?a=1' }),
      (e: unknown) => e instanceof HttpConnectorConfigError && /baseUrl/.test(e.message),
    );
    const broken = {
      ...listIssues,
      inputSchema: {
        ...listIssues.inputSchema,
        properties: { ...listIssues.inputSchema.properties, state: { type: 'nope' } },
      },
    };
    await assert.rejects(
      createHttpConnector({ ...base, tools: [broken] }),
      (e: unknown) => e instanceof HttpConnectorConfigError && /invalid inputSchema/.test(e.message),
    );
    const document = { openapi: '3.0.3', paths: { '/x': { get: { operationId: 'list_issues', responses: {} } } } };
    await assert.rejects(createHttpConnector({ ...base, openapi: { document } }), /both declared and imported/);
    await assert.rejects(createHttpConnector({ ...base, openapi: { document: 'relative.yaml' } }), /no base directory/);
  });

  it('reports OpenAPI warnings', async () => {
    const seen: string[] = [];
    const document = {
      openapi: '3.0.3',
      paths: {
        '/up': { post: { operationId: 'upload', requestBody: { content: { 'text/csv': {} } }, responses: {} } },
      },
    };
    const connector = await createHttpConnector(
      { id: 'csv', kind: 'http', baseUrl: 'http://csv.example', openapi: { document } },
      { onWarning: (w) => seen.push(w) },
    );
    assert.equal(connector.warnings.length, 1);
    assert.match(connector.warnings[0]!, /^connector csv: POST \/up \(upload\): skipped/);
    assert.deepEqual(seen, connector.warnings);
  });
});

describe('prepareCall', () => {
  it('computes the exact operation: base path, canonical path, query, explicit port', async () => {
    const connector = await createHttpConnector(base);
    const prepared = await connector.prepareCall('list_issues', {
      owner: 'acme corp',
      repo: 'web',
      state: 'open',
      labels: ['a b', 'c&d'],
    });
    assert.deepEqual(prepared.operation, {
      method: 'GET',
      scheme: 'https',
      host: 'api.example.com',
      port: 443,
      path: '/v1/repos/acme%20corp/web/issues',
      query: 'state=open&label=a%20b&label=c%26d',
      url: 'https://api.example.com:443/v1/repos/acme%20corp/web/issues?state=open&label=a%20b&label=c%26d',
    });
    const plain = await createHttpConnector({ ...base, baseUrl: 'http://[::1]:8080/' });
    const op = (await plain.prepareCall('create_issue', { owner: 'a', repo: 'b', title: 't' })).operation!;
    assert.deepEqual(
      [op.host, op.port, op.path, op.url],
      ['::1', 8080, '/repos/a/b/issues', 'http://[::1]:8080/repos/a/b/issues'],
    );
  });

  it('refuses unknown tools and invalid arguments with ajv errors', async () => {
    const connector = await createHttpConnector(base);
    await assert.rejects(
      connector.prepareCall('nope', {}),
      (e: unknown) => e instanceof ConnectorError && e.code === 'TOOL_NOT_FOUND',
    );
    await assert.rejects(
      connector.prepareCall('list_issues', { owner: 'a', repo: 'b', state: 'all', extra: 1 }),
      (e: unknown) => {
        assert.ok(e instanceof ConnectorError && e.code === 'INVALID_ARGUMENTS');
        const errors = (e.details as { errors: { keyword: string; instancePath: string }[] }).errors;
        assert.deepEqual(errors.map((x) => x.keyword).sort(), ['additionalProperties', 'enum']);
        return true;
      },
    );
    await assert.rejects(
      connector.prepareCall('list_issues', { owner: 'a' }),
      (e: unknown) => e instanceof ConnectorError && e.code === 'INVALID_ARGUMENTS',
    );
  });

  it('refuses values that cannot go where the tool puts them', async () => {
    const connector = await createHttpConnector(base);
    for (const args of [
      { owner: '..', repo: 'web' },
      { owner: 'a/b', repo: 'web' },
      { owner: 'a', repo: '%2e%2e' },
      { owner: 'a', repo: 'b', trace: 'x\r\nInjected: 1' },
      { owner: 'a', repo: 'b', trace: 'n\u00f6n-ascii' },
    ]) {
      await assert.rejects(
        connector.prepareCall('list_issues', args),
        (e: unknown) => e instanceof ConnectorError && e.code === 'INVALID_ARGUMENTS',
        JSON.stringify(args),
      );
    }
  });

  it('sends only what was prepared: a tampered operation is refused before any request', async () => {
    const connector = await createHttpConnector(base);
    const prepared = await connector.prepareCall('create_issue', { owner: 'a', repo: 'b', title: 't' });
    const { ctx, calls } = recordingContext();
    const tampered = {
      ...prepared,
      operation: { ...prepared.operation!, url: 'https://evil.example:443/v1/repos/a/b/issues', host: 'evil.example' },
    };
    await assert.rejects(
      connector.callTool(tampered, ctx),
      (e: unknown) => e instanceof ConnectorError && e.code === 'INVALID_ARGUMENTS',
    );
    // A call not prepared by this connector is prepared again from its arguments (and validated).
    await assert.rejects(
      connector.callTool({ tool: 'create_issue', args: { owner: '..', repo: 'b', title: 't' } }, ctx),
      (e: unknown) => e instanceof ConnectorError && e.code === 'INVALID_ARGUMENTS',
    );
    assert.deepEqual(calls, []);
    await connector.callTool(prepared, ctx);
    assert.deepEqual(calls, ['https://api.example.com:443/v1/repos/a/b/issues']);
  });

  it('property: no argument value moves the request off the base URL or out of the tool path', async () => {
    const connector = await createHttpConnector(base);
    const value = fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '%2e%2e',
        '/',
        '\\',
        '%2F',
        '@evil.example',
        '//evil.example',
        '?x',
        '#x',
        ':1',
        'a/../..',
      ),
      fc.string({ unit: 'binary', maxLength: 10 }),
    );
    await fc.assert(
      fc.asyncProperty(value, value, async (owner, repo) => {
        let url: string;
        try {
          url = (await connector.prepareCall('list_issues', { owner, repo })).operation!.url;
        } catch (error) {
          assert.ok(error instanceof ConnectorError && error.code === 'INVALID_ARGUMENTS', String(error));
          return;
        }
        const parsed = new URL(url);
        assert.equal(parsed.host, 'api.example.com');
        assert.equal(parsed.search, '');
        assert.match(parsed.pathname, /^\/v1\/repos\/[^/]+\/[^/]+\/issues$/);
        assert.equal(url, `https://api.example.com:443${parsed.pathname}`);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('createHttpConnector with an inline OpenAPI document', () => {
  it('leaves the configuration as written', async () => {
    const document = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/things': {
          post: {
            operationId: 'createThing',
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
            responses: { '200': { description: 'ok' } },
          },
        },
      },
      components: { schemas: { Thing: { type: 'object', properties: { name: { type: 'string' } } } } },
    };
    const before = structuredClone(document);
    const connector = await createHttpConnector({
      id: 'inline',
      kind: 'http',
      baseUrl: 'https://api.example.com',
      openapi: { document },
    });
    assert.deepEqual(document, before);
    await connector.close();
  });
});
