/**
 * Policy and egress enforcement through a running gateway with a real policy file and real backends. Every
 * denial asserts the code the agent sees and that the backend received nothing.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { writePolicy } from './helpers/policy.js';

const ownerRepo = {
  type: 'object',
  properties: { owner: { type: 'string' }, repo: { type: 'string' } },
  required: ['owner', 'repo'],
  additionalProperties: false,
};

const tools = [
  { name: 'get_repo', method: 'GET', path: '/repos/{owner}/{repo}', inputSchema: ownerRepo },
  { name: 'delete_repo', method: 'DELETE', path: '/repos/{owner}/{repo}', inputSchema: ownerRepo },
  {
    name: 'refund',
    method: 'POST',
    path: '/refunds',
    inputSchema: {
      type: 'object',
      properties: { amount: { type: 'number' } },
      required: ['amount'],
      additionalProperties: false,
    },
    body: { args: ['amount'] },
  },
  {
    name: 'follow',
    method: 'GET',
    path: '/redirect',
    inputSchema: {
      type: 'object',
      properties: { to: { type: 'string' } },
      required: ['to'],
      additionalProperties: false,
    },
    query: { to: 'to' },
  },
];

const policy = {
  version: 1,
  name: 'enforcement',
  rules: [
    {
      id: 'repos.read-acme',
      effect: 'allow',
      tools: ['git_get_repo', 'git_delete_repo'],
      http: { methods: ['GET'], paths: ['/repos/acme/{repo}'] },
    },
    { id: 'refunds.small', effect: 'allow', tools: ['git_refund'], when: 'args.amount <= 100' },
    { id: 'redirects', effect: 'allow', tools: ['git_follow'] },
    { id: 'elsewhere', effect: 'allow', tools: ['loop_*', 'meta_*', 'named_*'] },
  ],
};

function code(result: unknown): unknown {
  return (result as { _meta?: Record<string, unknown> })._meta?.['portcullis/code'];
}

describe('policy and egress enforcement through the gateway', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let inward: Server;
  let inwardHits = 0;
  let inwardUrl: string;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    backend = await startHttpBackend();
    // A second server on another loopback address: reachable only if something follows a redirect there.
    inward = createServer((_req, res) => {
      inwardHits += 1;
      res.end('inside');
    });
    await new Promise<void>((resolve) => inward.listen(0, '127.0.0.2', resolve));
    inwardUrl = `http://127.0.0.2:${(inward.address() as AddressInfo).port}/secret`;
    const port = new URL(backend.url).port;
    gw = await startTestGateway(
      {
        connectors: [
          { id: 'git', kind: 'http', baseUrl: backend.url, tools },
          // Reaching inward: a loopback address not named in an allowance, a DNS name (localhost) whose
          // answers include an address not named (::1), and the metadata address.
          { id: 'loop', kind: 'http', baseUrl: inwardUrl.replace('/secret', ''), tools: [tools[0]] },
          { id: 'named', kind: 'http', baseUrl: `http://localhost:${port}`, tools: [tools[0]] },
          { id: 'meta', kind: 'http', baseUrl: 'http://169.254.169.254', tools: [tools[0]] },
        ],
        // Only the `git` connector's backend may be reached on loopback (its baseline rule names its host);
        // `named` may reach 127.0.0.1 but its name also resolves to ::1, which nothing names.
        egress: { connectors: { git: { allowPrivate: ['127.0.0.1/32'] }, named: { allowPrivate: ['127.0.0.1/32'] } } },
        policy: { files: [await writePolicy(policy)], watch: false },
      },
      [{ id: 'agent' }],
    );
    client = await gw.connect('agent');
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
    await new Promise((resolve) => inward?.close(resolve));
  });

  const quiet = async (fn: () => Promise<void>): Promise<void> => {
    const mark = backend.requests.length;
    await fn();
    assert.equal(backend.requests.length, mark, 'nothing reached the backend');
  };

  it('allows what the policy names', async () => {
    const result = await client.callTool({ name: 'git_get_repo', arguments: { owner: 'acme', repo: 'web' } });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(backend.requests.at(-1)?.url, '/repos/acme/web');
  });

  it('denies a method the rule does not allow', () =>
    quiet(async () => {
      const result = await client.callTool({ name: 'git_delete_repo', arguments: { owner: 'acme', repo: 'web' } });
      assert.equal(code(result), 'POLICY_DENIED');
    }));

  it('denies a path outside the pattern', () =>
    quiet(async () => {
      const result = await client.callTool({ name: 'git_get_repo', arguments: { owner: 'other', repo: 'web' } });
      assert.equal(code(result), 'POLICY_DENIED');
    }));

  it('rejects traversal and encoding tricks before deciding', () =>
    quiet(async () => {
      for (const owner of ['..', '.', 'acme/../admin', '%2e%2e', 'acme%2Fweb', 'acme\\web']) {
        const error = await client
          .callTool({ name: 'git_get_repo', arguments: { owner, repo: 'web' } })
          .catch((e: unknown) => e);
        assert.ok(error instanceof McpError, `expected a rejection for ${owner}`);
        assert.equal(error.code, -32602);
      }
    }));

  it('denies a call whose argument condition fails', () =>
    quiet(async () => {
      const result = await client.callTool({ name: 'git_refund', arguments: { amount: 5000 } });
      assert.equal(code(result), 'POLICY_DENIED');
    }));

  it('hides a tool no rule allows, and refuses it by name like an unknown tool', async () => {
    const listed = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(!listed.includes('git_nonexistent'));
    await quiet(async () => {
      const error = await client.callTool({ name: 'git_delete_everything', arguments: {} }).catch((e: unknown) => e);
      assert.ok(error instanceof McpError);
      assert.equal(error.code, -32602);
    });
  });

  it('denies egress to a loopback address no rule names', async () => {
    const before = inwardHits;
    const result = await client.callTool({ name: 'loop_get_repo', arguments: { owner: 'acme', repo: 'web' } });
    assert.equal(code(result), 'EGRESS_DENIED', JSON.stringify(result));
    assert.equal(inwardHits, before, 'the inward server received nothing');
  });

  it('denies egress through a DNS name with an answer no rule names', () =>
    quiet(async () => {
      const result = await client.callTool({ name: 'named_get_repo', arguments: { owner: 'acme', repo: 'web' } });
      assert.equal(code(result), 'EGRESS_DENIED', JSON.stringify(result));
    }));

  it('denies egress to the cloud metadata address', async () => {
    const result = await client.callTool({ name: 'meta_get_repo', arguments: { owner: 'acme', repo: 'web' } });
    assert.equal(code(result), 'EGRESS_DENIED');
  });

  it('never follows a redirect to a private address', async () => {
    const before = inwardHits;
    const result = await client.callTool({ name: 'git_follow', arguments: { to: inwardUrl } });
    assert.equal(result.isError, true);
    assert.equal(inwardHits, before, 'the inward server received nothing');
  });
});
