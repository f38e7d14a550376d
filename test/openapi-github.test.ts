/**
 * OpenAPI at real scale: GitHub's full REST description (the `@octokit/openapi` development dependency).
 * Ten selected operations import completely (the file-contents operation with its multi-segment `{+path}`);
 * the whole document imports with every skipped operation carrying a precise reason; and a `{+path}` tool
 * called through a real gateway sends the multi-segment path to a real backend, while traversal, encoded
 * traversal and empty segments are refused before anything reaches it. Start-up time and memory are
 * measured in bench/openapi-startup-bench.ts, not here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createHttpConnector } from '../connectors/http/index.js';
import { importOpenApiTools, loadOpenApiDocument } from '../connectors/http/openapi.js';
import { GITHUB_OPERATIONS, githubDocumentPath } from './fixtures/github-openapi.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** Every reason the importer gives for skipping an operation, as patterns; anything else is a failure. */
const KNOWN_SKIP_REASONS = [
  /: skipped: request body media types \([^)]+\) are not supported; only JSON bodies are$/,
  /: skipped: (query|header|cookie) parameter "[^"]+": .+$/,
  /: skipped: recursive (schema )?\$ref "#\/[^"]+"/,
  /: skipped: the input schema has more than \d+ nodes once \$refs are inlined/,
  /: skipped: tool name "[^"]+" is already taken$/,
];

describe("GitHub's OpenAPI document", () => {
  it('imports ten selected operations completely, the file-contents path as {+path}', async () => {
    const connector = await createHttpConnector(
      {
        id: 'github',
        kind: 'http',
        baseUrl: 'https://api.github.com',
        openapi: { document: githubDocumentPath(), operationIds: [...GITHUB_OPERATIONS] },
      },
      {},
    );
    assert.deepEqual(connector.warnings, []);
    const tools = await connector.listTools({} as never);
    assert.equal(tools.length, 10);
    const content = tools.find((t) => t.name === 'repos_get-content');
    assert.equal(content?.operation?.pathTemplate, '/repos/{owner}/{repo}/contents/{+path}');
    const create = tools.find((t) => t.name === 'issues_create');
    assert.deepEqual(create?.inputSchema.required, ['owner', 'repo', 'body']);
    assert.equal(JSON.stringify(tools).includes('$ref'), false, 'every selected $ref is inlined');
    await connector.close();
  });

  it('imports the whole document; every skipped operation has a precise reason', async () => {
    const document = await loadOpenApiDocument(githubDocumentPath());
    const { tools, warnings } = await importOpenApiTools(document);
    const skipped = warnings.filter((w) => w.includes(': skipped: '));
    assert.ok(tools.length > 1000, `${tools.length} tools`);
    for (const line of skipped) {
      assert.ok(
        KNOWN_SKIP_REASONS.some((reason) => reason.test(line)),
        `unexpected skip reason: ${line}`,
      );
      assert.match(line, /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE) \/\S* \([^)]+\): skipped: /);
    }
    assert.ok(skipped.length < 10, `skipped ${skipped.length}:\n${skipped.join('\n')}`);
    assert.equal(new Set(tools.map((t) => t.name)).size, tools.length, 'names are unique');
    const multiSegment = tools.filter((t) => t.path.includes('{+'));
    assert.ok(multiSegment.length >= 10, `${multiSegment.length} tools take a multi-segment path parameter`);
  });
});

describe('{+path} tools through the gateway', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let policyDir: string | undefined;

  before(async () => {
    backend = await startHttpBackend();
    policyDir = await mkdtemp(path.join(tmpdir(), 'portcullis-plus-path-'));
    const policyFile = path.join(policyDir, 'policy.yaml');
    // Policy sees the canonical path a {+path} value produces, so path patterns keep governing it.
    await writeFile(
      policyFile,
      [
        'version: 1',
        'name: contents',
        'rules:',
        '  - id: no-secrets-dir',
        '    effect: deny',
        "    tools: ['gh_*']",
        "    http: { paths: ['/repos/{owner}/{repo}/contents/secrets/**'] }",
        '',
      ].join('\n'),
    );
    gw = await startTestGateway(
      {
        connectors: [
          {
            id: 'gh',
            kind: 'http',
            baseUrl: backend.url,
            openapi: { document: githubDocumentPath(), operationIds: ['repos/get-content', 'git/get-ref'] },
          },
          {
            id: 'files',
            kind: 'http',
            baseUrl: new URL('/v1', backend.url).href,
            tools: [
              {
                name: 'read',
                method: 'GET',
                path: '/files/{+path}/raw',
                inputSchema: {
                  type: 'object',
                  properties: { path: { type: 'string' } },
                  required: ['path'],
                  additionalProperties: false,
                },
              },
            ],
          },
        ],
        egress: { connectors: { gh: { allowPrivate: ['127.0.0.1/32'] }, files: { allowPrivate: ['127.0.0.1/32'] } } },
        policy: { files: [policyFile], watch: false },
      },
      [{ id: 'reader', tools: ['gh_*', 'files_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
    if (policyDir !== undefined) await rm(policyDir, { recursive: true, force: true });
  });

  it('sends a value with "/" as several segments, each encoded', async () => {
    const reader = await gw.connect('reader');
    const mark = backend.requests.length;
    await reader.callTool({
      name: 'gh_repos_get-content',
      arguments: { owner: 'acme', repo: 'web', path: 'docs/guide/intro page.md', ref: 'main' },
    });
    await reader.callTool({
      name: 'gh_git_get-ref',
      arguments: { owner: 'acme', repo: 'web', ref: 'heads/feature/x' },
    });
    assert.deepEqual(
      backend.requests.slice(mark).map((r) => r.url),
      ['/repos/acme/web/contents/docs/guide/intro%20page.md?ref=main', '/repos/acme/web/git/ref/heads/feature/x'],
    );
  });

  it('lets policy path patterns decide on the segments a {+path} value adds', async () => {
    const reader = await gw.connect('reader');
    const mark = backend.requests.length;
    const denied = await reader.callTool({
      name: 'gh_repos_get-content',
      arguments: { owner: 'acme', repo: 'web', path: 'secrets/deploy/key.pem' },
    });
    assert.equal(denied.isError, true);
    assert.match(JSON.stringify(denied.content), /POLICY_DENIED/);
    assert.equal(backend.requests.length, mark, 'nothing reached the backend');
    const readme = await reader.callTool({
      name: 'gh_repos_get-content',
      arguments: { owner: 'acme', repo: 'web', path: 'docs/secrets/README.md' },
    });
    assert.doesNotMatch(JSON.stringify(readme.content), /POLICY_DENIED/, 'a secrets folder elsewhere is not denied');
    assert.deepEqual(
      backend.requests.slice(mark).map((r) => r.url),
      ['/repos/acme/web/contents/docs/secrets/README.md'],
    );
  });

  it('does the same for a {+path} tool declared in YAML, under the base path', async () => {
    const reader = await gw.connect('reader');
    const mark = backend.requests.length;
    await reader.callTool({ name: 'files_read', arguments: { path: 'reports/2030/q1.csv' } });
    const refused = await reader.callTool({ name: 'files_read', arguments: { path: 'reports/../../admin' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(refused instanceof McpError && refused.code === -32602);
    assert.deepEqual(
      backend.requests.slice(mark).map((r) => r.url),
      ['/v1/files/reports/2030/q1.csv/raw'],
    );
  });

  for (const [path, why] of [
    ['../../admin', 'dot-dot'],
    ['docs/../../../admin', 'dot-dot inside'],
    ['%2e%2e/admin', 'encoded dot-dot'],
    ['docs%2F..%2F..%2Fadmin', 'encoded slash'],
    ['/etc/passwd', 'leading slash'],
    ['docs//x', 'empty segment'],
    ['docs/', 'trailing slash'],
    ['docs\\..\\admin', 'backslash'],
  ]) {
    it(`refuses ${why} (${JSON.stringify(path)}) with InvalidParams, and nothing reaches the backend`, async () => {
      const reader = await gw.connect('reader');
      const mark = backend.requests.length;
      const error = await reader
        .callTool({ name: 'gh_repos_get-content', arguments: { owner: 'acme', repo: 'web', path } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof McpError, `expected InvalidParams, got ${String(error)}`);
      assert.equal(error.code, -32602);
      assert.match(error.message, /path parameter "path"/);
      assert.equal(backend.requests.length, mark, 'nothing reached the backend');
    });
  }
});
