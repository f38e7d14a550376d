/**
 * The http connector against a real REST backend (test/fixtures/http-backend.ts) with a plain fetch as
 * `ctx.fetch`: each request shape arrives exactly as prepared, responses map to tool results, the size cap,
 * timeout, cancellation and error mapping hold, and a refused argument means the backend receives nothing.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ConnectorContext, FetchLike, JsonObject } from '../connectors/contract.js';
import { ConnectorError, EgressError } from '../connectors/errors.js';
import { createHttpConnector, type HttpConnector, type HttpToolSpecInput } from '../connectors/http/index.js';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object' as const,
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});
const str = { type: 'string' };

const tools: HttpToolSpecInput[] = [
  {
    name: 'list_issues',
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues',
    inputSchema: obj({ owner: str, repo: str, state: { type: 'string', enum: ['open', 'closed'] } }, ['owner', 'repo']),
    query: { state: 'state' },
  },
  {
    name: 'create_issue',
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues',
    inputSchema: obj({ owner: str, repo: str, title: str, labels: { type: 'array', items: str } }, [
      'owner',
      'repo',
      'title',
    ]),
    body: { args: ['title', 'labels'] },
  },
  {
    name: 'get_repo',
    method: 'GET',
    path: '/repos/{owner}/{repo}',
    inputSchema: obj({ owner: str, repo: str }, ['owner', 'repo']),
  },
  {
    name: 'head_repo',
    method: 'HEAD',
    path: '/repos/{owner}/{repo}',
    inputSchema: obj({ owner: str, repo: str }, ['owner', 'repo']),
  },
  {
    name: 'delete_repo',
    method: 'DELETE',
    path: '/repos/{owner}/{repo}',
    inputSchema: obj({ owner: str, repo: str }, ['owner', 'repo']),
  },
  { name: 'get_user', method: 'GET', path: '/users/{id}', inputSchema: obj({ id: { type: 'integer' } }, ['id']) },
  {
    name: 'refund',
    method: 'POST',
    path: '/refunds',
    inputSchema: obj(
      {
        refund: {
          type: 'object',
          properties: { order: str, amount: { type: 'integer' } },
          required: ['order', 'amount'],
        },
      },
      ['refund'],
    ),
    body: { arg: 'refund' },
  },
  {
    name: 'echo',
    method: 'GET',
    path: '/echo',
    inputSchema: obj({
      q: str,
      tags: { type: 'array', items: str },
      requestId: str,
      n: { type: 'number' },
      flag: { type: 'boolean' },
    }),
    query: { q: 'q', tag: 'tags', n: 'n', flag: 'flag' },
    headers: { 'X-Request-Id': 'requestId' },
  },
  { name: 'echo_put', method: 'PUT', path: '/echo', inputSchema: obj({ doc: {} }), body: { arg: 'doc' } },
  { name: 'echo_patch', method: 'PATCH', path: '/echo', inputSchema: obj({ doc: {} }), body: { arg: 'doc' } },
  { name: 'text', method: 'GET', path: '/text', inputSchema: obj({}) },
  { name: 'html', method: 'GET', path: '/html', inputSchema: obj({}) },
  { name: 'json_array', method: 'GET', path: '/json-array', inputSchema: obj({}) },
  { name: 'image', method: 'GET', path: '/image', inputSchema: obj({}) },
  { name: 'binary', method: 'GET', path: '/binary', inputSchema: obj({}) },
  {
    name: 'big',
    method: 'GET',
    path: '/big',
    inputSchema: obj({ bytes: { type: 'integer' }, declare: { type: 'string' } }, ['bytes']),
    query: { bytes: 'bytes', declare: 'declare' },
  },
  {
    name: 'slow',
    method: 'GET',
    path: '/slow',
    inputSchema: obj({ ms: { type: 'integer' } }, ['ms']),
    query: { ms: 'ms' },
  },
  {
    name: 'status',
    method: 'GET',
    path: '/status/{code}',
    inputSchema: obj({ code: { type: 'integer' }, type: str }, ['code']),
    query: { type: 'type' },
  },
  { name: 'redirect', method: 'GET', path: '/redirect', inputSchema: obj({ to: str }, ['to']), query: { to: 'to' } },
];

function isCode(code: string) {
  return (error: unknown) => error instanceof ConnectorError && error.code === code;
}

describe('http connector against a real backend', () => {
  let backend: HttpBackend;
  let connector: HttpConnector;
  let small: HttpConnector;
  /** Every URL handed to ctx.fetch: the connector's only way out. */
  const fetched: string[] = [];
  const plainFetch: FetchLike = (input, init) => {
    fetched.push(String(input));
    return fetch(input, init);
  };
  const context = (overrides: Partial<ConnectorContext> = {}): ConnectorContext => ({
    callId: 'call-1',
    signal: new AbortController().signal,
    fetch: plainFetch,
    meta: { traceparent: TRACEPARENT },
    ...overrides,
  });
  const call = async (c: HttpConnector, tool: string, args: JsonObject, ctx = context()) =>
    c.callTool(await c.prepareCall(tool, args), ctx);
  const since = (mark: number) => backend.requests.slice(mark);

  before(async () => {
    backend = await startHttpBackend();
    connector = await createHttpConnector({ id: 'api', kind: 'http', baseUrl: backend.url, tools });
    small = await createHttpConnector({
      id: 'small',
      kind: 'http',
      baseUrl: backend.url,
      tools,
      maxResponseBytes: 1024,
      timeoutMs: 300,
    });
  });
  after(async () => {
    await connector?.close();
    await small?.close();
    await backend?.close();
  });

  it('sends a GET with path parameters and query, and maps a JSON object to structured content', async () => {
    const mark = backend.requests.length;
    const result = await call(connector, 'list_issues', { owner: 'acme corp', repo: 'web', state: 'open' });
    const [seen] = since(mark);
    assert.equal(seen?.method, 'GET');
    assert.equal(seen?.url, '/repos/acme%20corp/web/issues?state=open');
    assert.equal(seen?.headers['accept'], 'application/json, text/*');
    assert.equal(seen?.headers['traceparent'], TRACEPARENT);
    assert.equal(seen?.headers['content-type'], undefined);
    assert.equal(result.isError, undefined);
    assert.deepEqual(result.structuredContent?.['owner'], 'acme corp');
    assert.deepEqual(JSON.parse((result.content[0] as { text: string }).text), result.structuredContent);
  });

  it('sends a POST with a JSON object of the mapped arguments', async () => {
    const mark = backend.requests.length;
    const result = await call(connector, 'create_issue', {
      owner: 'acme',
      repo: 'web',
      title: 'Broken link',
      labels: ['bug'],
    });
    const [seen] = since(mark);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.url, '/repos/acme/web/issues');
    assert.equal(seen?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(seen!.body), { title: 'Broken link', labels: ['bug'] });
    assert.equal(result.structuredContent?.['title'], 'Broken link');
  });

  it('sends one argument as the whole JSON body', async () => {
    const mark = backend.requests.length;
    await call(connector, 'refund', { refund: { order: 'A-1', amount: 50 } });
    assert.deepEqual(JSON.parse(since(mark)[0]!.body), { order: 'A-1', amount: 50 });
  });

  it('sends PUT, PATCH, DELETE and HEAD', async () => {
    const mark = backend.requests.length;
    const put = await call(connector, 'echo_put', { doc: [1, 'two'] });
    const patch = await call(connector, 'echo_patch', { doc: 'just a string' });
    const deleted = await call(connector, 'delete_repo', { owner: 'acme', repo: 'old' });
    const head = await call(connector, 'head_repo', { owner: 'acme', repo: 'web' });
    assert.deepEqual(
      since(mark).map((r) => [r.method, r.url, r.body]),
      [
        ['PUT', '/echo', '[1,"two"]'],
        ['PATCH', '/echo', '"just a string"'],
        ['DELETE', '/repos/acme/old', ''],
        ['HEAD', '/repos/acme/web', ''],
      ],
    );
    assert.equal(put.structuredContent?.['body'], '[1,"two"]');
    assert.equal(patch.structuredContent?.['method'], 'PATCH');
    assert.deepEqual(deleted, { content: [{ type: 'text', text: 'HTTP 204 (no content)' }] });
    assert.deepEqual(head, { content: [{ type: 'text', text: 'HTTP 200 (no content)' }] });
  });

  it('maps query arrays, numbers, booleans and headers, and leaves absent ones out', async () => {
    const mark = backend.requests.length;
    await call(connector, 'echo', { q: 'a&b=c', tags: ['x', 'y z'], n: 1.5, flag: false, requestId: 'req-7' });
    await call(connector, 'echo', {});
    const [full, empty] = since(mark);
    assert.equal(full?.url, '/echo?q=a%26b%3Dc&tag=x&tag=y%20z&n=1.5&flag=false');
    assert.equal(full?.headers['x-request-id'], 'req-7');
    assert.equal(empty?.url, '/echo');
    assert.equal(empty?.headers['x-request-id'], undefined);
  });

  it('goes out through ctx.fetch only', async () => {
    const before = fetched.length;
    await call(connector, 'get_repo', { owner: 'acme', repo: 'web' });
    assert.deepEqual(fetched.slice(before), [`http://127.0.0.1:${backend.port}/repos/acme/web`]);
  });

  it('maps text, JSON arrays, images and binary bodies', async () => {
    assert.deepEqual(await call(connector, 'text', {}), {
      content: [{ type: 'text', text: 'hello from the backend' }],
    });
    assert.deepEqual(await call(connector, 'html', {}), { content: [{ type: 'text', text: '<p>hello</p>' }] });
    assert.deepEqual(await call(connector, 'json_array', {}), { content: [{ type: 'text', text: '[1,2,3]' }] });
    const image = await call(connector, 'image', {});
    assert.equal(image.content[0]?.type, 'image');
    assert.equal((image.content[0] as { mimeType: string }).mimeType, 'image/png');
    assert.ok(
      Buffer.from((image.content[0] as { data: string }).data, 'base64')
        .subarray(1, 4)
        .equals(Buffer.from('PNG')),
    );
    const binary = await call(connector, 'binary', {});
    assert.equal(binary.content[0]?.type, 'text');
    assert.match((binary.content[0] as { text: string }).text, /application\/octet-stream response of 4 bytes/);
  });

  it('maps 4xx to an error result the agent can read', async () => {
    const result = await call(connector, 'get_user', { id: 0 });
    assert.equal(result.isError, undefined, 'numeric id 0 exists');
    const missing = await call(connector, 'status', { code: 404 });
    assert.deepEqual(missing, {
      content: [{ type: 'text', text: 'HTTP 404: {"status":404,"message":"status 404"}' }],
      isError: true,
      _meta: { status: 404 },
    });
  });

  it("maps 5xx to an upstream error, never the caller's fault", async () => {
    const result = await call(connector, 'status', { code: 503, type: 'text' });
    assert.deepEqual(result, {
      content: [{ type: 'text', text: 'HTTP 503: status 503 as text' }],
      isError: true,
      _meta: { 'portcullis/code': 'UPSTREAM_ERROR', status: 503 },
    });
  });

  it('does not follow redirects', async () => {
    const mark = backend.requests.length;
    const result = await call(connector, 'redirect', { to: `${backend.url}text` });
    assert.equal(result.isError, true);
    assert.deepEqual(result._meta, { 'portcullis/code': 'UPSTREAM_ERROR', status: 302 });
    assert.deepEqual(
      since(mark).map((r) => r.url.split('?')[0]),
      ['/redirect'],
      'the redirect target was never requested',
    );
  });

  it('caps the response size, streamed or declared', async () => {
    await assert.rejects(call(small, 'big', { bytes: 200_000 }), isCode('RESPONSE_TOO_LARGE'));
    await assert.rejects(call(small, 'big', { bytes: 200_000, declare: '1' }), isCode('RESPONSE_TOO_LARGE'));
    const exact = await call(small, 'big', { bytes: 1024 });
    assert.equal((exact.content[0] as { text: string }).text.length, 1024);
    // The connection is usable afterwards.
    assert.equal((await call(small, 'text', {})).isError, undefined);
  });

  it('times out a slow backend with UPSTREAM_TIMEOUT', async () => {
    await assert.rejects(call(small, 'slow', { ms: 10_000 }), isCode('UPSTREAM_TIMEOUT'));
  });

  it('reports CANCELLED when the caller aborts, before or during the request', async () => {
    const aborted = new AbortController();
    aborted.abort();
    const mark = backend.requests.length;
    await assert.rejects(call(connector, 'text', {}, context({ signal: aborted.signal })), isCode('CANCELLED'));
    assert.equal(since(mark).length, 0);

    const controller = new AbortController();
    const abortOnceSent: FetchLike = async (input, init) => {
      const pending = fetch(input, init);
      // Abort once the backend has the request (it answers only after 10 s).
      const started = backend.requests.length;
      while (backend.requests.length === started) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      return pending;
    };
    await assert.rejects(
      call(connector, 'slow', { ms: 10_000 }, context({ signal: controller.signal, fetch: abortOnceSent })),
      isCode('CANCELLED'),
    );
  });

  it('maps an unreachable backend to UPSTREAM_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = await createHttpConnector({ id: 'dead', kind: 'http', baseUrl: `http://127.0.0.1:${port}/`, tools });
    await assert.rejects(
      call(dead, 'text', {}),
      (e: unknown) => isCode('UPSTREAM_UNAVAILABLE')(e) && !(e as Error).message.includes('ECONNREFUSED'),
    );
  });

  it("passes the gateway fetch's own typed errors through, and trusts no look-alike", async () => {
    const denied = new EgressError('EGRESS_DENIED', 'egress to 127.0.0.1 denied');
    const guardLike: FetchLike = async () => {
      throw denied;
    };
    await assert.rejects(call(connector, 'text', {}, context({ fetch: guardLike })), (e: unknown) => e === denied);
    const tooLargeError = new EgressError('RESPONSE_TOO_LARGE', 'response too large');
    const tooLarge: FetchLike = async () => {
      throw tooLargeError;
    };
    await assert.rejects(
      call(connector, 'text', {}, context({ fetch: tooLarge })),
      (e: unknown) => e === tooLargeError,
    );
    // A socket error that happens to carry a code string is not a decision of the gateway.
    const lookAlike: FetchLike = async () => {
      throw Object.assign(new Error('egress to 127.0.0.1 denied'), { code: 'EGRESS_DENIED' });
    };
    await assert.rejects(call(connector, 'text', {}, context({ fetch: lookAlike })), isCode('UPSTREAM_UNAVAILABLE'));
  });

  it('sends nothing when arguments are refused', async () => {
    const mark = backend.requests.length;
    const fetchedBefore = fetched.length;
    const refused: [string, JsonObject, string][] = [
      ['nope', {}, 'TOOL_NOT_FOUND'],
      ['list_issues', { owner: 'acme' }, 'INVALID_ARGUMENTS'],
      ['list_issues', { owner: 'acme', repo: 'web', state: 'all' }, 'INVALID_ARGUMENTS'],
      ['list_issues', { owner: 'acme', repo: 'web', extra: 1 }, 'INVALID_ARGUMENTS'],
      ['list_issues', { owner: '..', repo: 'web' }, 'INVALID_ARGUMENTS'],
      ['list_issues', { owner: 'acme/../../admin', repo: 'web' }, 'INVALID_ARGUMENTS'],
      ['list_issues', { owner: 'acme', repo: '%2e%2e' }, 'INVALID_ARGUMENTS'],
      ['list_issues', { owner: 'acme', repo: 'web\\..' }, 'INVALID_ARGUMENTS'],
      ['get_user', { id: '1' }, 'INVALID_ARGUMENTS'],
      ['echo', { requestId: 'a\r\nX-Injected: 1' }, 'INVALID_ARGUMENTS'],
    ];
    for (const [tool, args, code] of refused) {
      await assert.rejects(call(connector, tool, args), isCode(code), `${tool} ${JSON.stringify(args)}`);
      // Also when a caller skips prepareCall: callTool prepares (and refuses) again.
      await assert.rejects(
        connector.callTool({ tool, args }, context()),
        isCode(code),
        `${tool} ${JSON.stringify(args)} (unprepared)`,
      );
    }
    assert.equal(since(mark).length, 0);
    assert.equal(fetched.length, fetchedBefore);
  });

  it('imports tools from the fixture OpenAPI document and calls them', async () => {
    const imported = await createHttpConnector(
      {
        id: 'oas',
        kind: 'http',
        baseUrl: backend.url,
        openapi: { document: 'http-backend.openapi.yaml', tags: ['issues', 'payments'] },
      },
      { baseDir: fixtures },
    );
    assert.deepEqual(
      (await imported.listTools({ signal: new AbortController().signal, fetch: plainFetch })).map((t) => t.name),
      ['listIssues', 'createIssue', 'createRefund'],
    );
    const mark = backend.requests.length;
    const created = await call(imported, 'createIssue', {
      owner: 'acme',
      repo: 'web',
      body: { title: 'From OpenAPI', labels: ['x'] },
    });
    await assert.rejects(
      call(imported, 'createRefund', { body: { order: 'A', amount: 0 } }),
      isCode('INVALID_ARGUMENTS'),
    );
    assert.equal(created.structuredContent?.['title'], 'From OpenAPI');
    assert.deepEqual(
      since(mark).map((r) => [r.method, r.url, r.body]),
      [['POST', '/repos/acme/web/issues', '{"title":"From OpenAPI","labels":["x"]}']],
    );
  });
});
