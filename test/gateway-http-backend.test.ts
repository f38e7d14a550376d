/**
 * Agents calling a real HTTP backend through a real gateway: allowlists filter and decide, arguments are
 * validated before anything is sent, the backend receives exactly the request the tool describes, and
 * every call is audited. Each denial also asserts that nothing reached the backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { INITIALIZE, rawPost, readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';

type Backend = Awaited<ReturnType<typeof startHttpBackend>>;

const repoTools = [
  {
    name: 'list_issues',
    description: 'List issues of a repository',
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues',
    inputSchema: {
      type: 'object',
      properties: {
        owner: { type: 'string' },
        repo: { type: 'string' },
        state: { type: 'string', enum: ['open', 'closed'] },
      },
      required: ['owner', 'repo'],
      additionalProperties: false,
    },
    query: { state: 'state' },
  },
  {
    name: 'create_issue',
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues',
    inputSchema: {
      type: 'object',
      properties: { owner: { type: 'string' }, repo: { type: 'string' }, title: { type: 'string' } },
      required: ['owner', 'repo', 'title'],
      additionalProperties: false,
    },
    body: { args: ['title'] },
  },
  {
    name: 'delete_repo',
    method: 'DELETE',
    path: '/repos/{owner}/{repo}',
    inputSchema: {
      type: 'object',
      properties: { owner: { type: 'string' }, repo: { type: 'string' } },
      required: ['owner', 'repo'],
      additionalProperties: false,
    },
  },
];

describe('gateway in front of an HTTP API', () => {
  let backend: Backend;
  let gw: TestGateway;

  before(async () => {
    backend = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'git', kind: 'http', baseUrl: backend.url, tools: repoTools }],
        egress: { connectors: { git: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [
        { id: 'reader', tools: ['git_list_issues'] },
        { id: 'writer', tools: ['git_list_issues', 'git_create_issue'] },
        { id: 'nobody' },
      ],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const requestsSince = (mark: number) => backend.requests.slice(mark);

  it('lists only the tools the agent may call', async () => {
    const reader = await gw.connect('reader');
    const names = (await reader.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['git_list_issues']);
    const nobody = await gw.connect('nobody');
    assert.deepEqual((await nobody.listTools()).tools, []);
  });

  it('forwards an allowed call as exactly the described request', async () => {
    const mark = backend.requests.length;
    const writer = await gw.connect('writer');
    const result = await writer.callTool({
      name: 'git_create_issue',
      arguments: { owner: 'acme', repo: 'web', title: 'Broken link' },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const seen = requestsSince(mark);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.method, 'POST');
    assert.equal(seen[0]?.url, '/repos/acme/web/issues');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? 'null'), { title: 'Broken link' });
    assert.equal(seen[0]?.headers['authorization'], undefined, "the agent's key never travels upstream");
  });

  it('maps query arguments and returns structured content', async () => {
    const mark = backend.requests.length;
    const reader = await gw.connect('reader');
    const result = await reader.callTool({
      name: 'git_list_issues',
      arguments: { owner: 'acme', repo: 'web', state: 'open' },
    });
    assert.notEqual(result.isError, true);
    assert.equal(requestsSince(mark)[0]?.url, '/repos/acme/web/issues?state=open');
  });

  it('treats a tool outside the allowlist exactly like an unknown tool, and sends nothing', async () => {
    const mark = backend.requests.length;
    const reader = await gw.connect('reader');
    const hidden = await reader
      .callTool({ name: 'git_delete_repo', arguments: { owner: 'acme', repo: 'web' } })
      .catch((e: unknown) => e);
    const unknown = await reader.callTool({ name: 'git_no_such_tool', arguments: {} }).catch((e: unknown) => e);
    assert.ok(hidden instanceof McpError && unknown instanceof McpError);
    assert.equal(hidden.code, -32602);
    assert.equal(unknown.code, hidden.code);
    assert.equal(hidden.message.replace('git_delete_repo', 'X'), unknown.message.replace('git_no_such_tool', 'X'));
    assert.equal(requestsSince(mark).length, 0);
  });

  it('rejects invalid arguments and path tricks before any request', async () => {
    const mark = backend.requests.length;
    const writer = await gw.connect('writer');
    for (const args of [
      { owner: 'acme' },
      { owner: 'acme', repo: 'web', state: 'all' },
      { owner: 'acme', repo: 'web', extra: 1 },
      { owner: '..', repo: 'web' },
      { owner: 'acme/../../admin', repo: 'web' },
      { owner: 'acme', repo: '%2e%2e' },
    ]) {
      const error = await writer.callTool({ name: 'git_list_issues', arguments: args }).catch((e: unknown) => e);
      assert.ok(error instanceof McpError, `expected InvalidParams for ${JSON.stringify(args)}`);
      assert.equal(error.code, -32602);
    }
    assert.equal(requestsSince(mark).length, 0);
  });

  it('writes an audit record for every call, allowed or denied, without arguments or keys', async () => {
    const records = await readAudit(gw.auditFile);
    const calls = records.filter((r) => r['event'] === 'tool.call');
    assert.ok(
      calls.some(
        (r) =>
          r['decision'] === 'allow' &&
          r['tool'] === 'git_create_issue' &&
          r['operation'] === `POST ${backend.url.replace(/\/$/, '')}/repos/acme/web/issues`,
      ),
    );
    assert.ok(
      calls.some((r) => r['decision'] === 'deny' && r['tool'] === 'git_delete_repo' && r['code'] === 'TOOL_NOT_FOUND'),
    );
    const text = JSON.stringify(records);
    for (const agent of Object.values(gw.agents)) assert.ok(!text.includes(agent.key));
    assert.ok(!text.includes('Broken link'), 'arguments are hashed, not recorded');
  });

  it('exposes Prometheus metrics for the decisions and calls made', async () => {
    const text = await (await fetch(`${gw.gateway.baseUrl}/metrics`)).text();
    assert.match(text, /portcullis_decisions_total\{[^}]*effect="allow"[^}]*\} [1-9]/);
    assert.match(text, /portcullis_tool_call_duration_seconds_count\{[^}]*tool="git_create_issue"/);
  });

  it('rejects unauthenticated requests with 401 and a Bearer challenge', async () => {
    const response = await rawPost(gw.gateway.mcpUrl, INITIALIZE);
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer /);
    const wrong = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: 'Bearer pc_not_a_key' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it("does not let one agent use another agent's session", async () => {
    const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${gw.agents['writer']!.key}` });
    assert.equal(init.status, 200);
    const sessionId = init.headers.get('mcp-session-id');
    assert.ok(sessionId);
    await init.body?.cancel();
    const mark = backend.requests.length;
    const hijack = await rawPost(
      gw.gateway.mcpUrl,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'git_create_issue', arguments: { owner: 'a', repo: 'b', title: 'x' } },
      },
      {
        authorization: `Bearer ${gw.agents['reader']!.key}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-06-18',
      },
    );
    assert.equal(hijack.status, 404);
    assert.equal(requestsSince(mark).length, 0);
  });
});
