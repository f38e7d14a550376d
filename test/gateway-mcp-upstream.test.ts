/**
 * Agents using upstream MCP servers through the gateway, over stdio and over Streamable HTTP: federated
 * tools, resources and prompts, progress and log forwarding, sampling relayed back to the calling agent,
 * trace context propagated in `_meta`, and list_changed refreshing what agents see.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CreateMessageRequestSchema,
  McpError,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startUpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const stdioFixture = path.join(here, 'fixtures', 'mcp-upstream-stdio.ts');

describe('gateway in front of upstream MCP servers', () => {
  let upstream: Awaited<ReturnType<typeof startUpstreamHttp>>;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [
          {
            id: 'local',
            kind: 'mcp',
            transport: 'stdio',
            command: process.execPath,
            args: ['--import', 'tsx', stdioFixture],
            cwd: path.resolve(here, '..'),
          },
          { id: 'remote', kind: 'mcp', transport: 'http', url: upstream.url },
        ],
        egress: { connectors: { remote: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [
        { id: 'full', tools: ['local_*', 'remote_*'], resources: ['**'], prompts: ['local_*', 'remote_*'] },
        { id: 'echo-only', tools: ['local_echo'] },
      ],
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const connector of ['local', 'remote']) {
    it(`calls tools over ${connector === 'local' ? 'stdio' : 'Streamable HTTP'} with structured output`, async () => {
      const client = await gw.connect('full');
      const echo = await client.callTool({ name: `${connector}_echo`, arguments: { text: 'hello' } });
      assert.notEqual(echo.isError, true);
      assert.match(JSON.stringify(echo.content), /hello/);
      const add = await client.callTool({ name: `${connector}_add`, arguments: { a: 2, b: 3 } });
      assert.deepEqual(add.structuredContent, { sum: 5 });
    });
  }

  it('filters the federated catalog per agent', async () => {
    const client = await gw.connect('echo-only');
    assert.deepEqual(
      (await client.listTools()).tools.map((t) => t.name),
      ['local_echo'],
    );
    // No rule names any prompt for this agent: it sees none (default deny).
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    assert.ok(
      prompts.every((name) => name.startsWith('local_')),
      prompts.join(','),
    );
    const denied = await client.callTool({ name: 'remote_echo', arguments: { text: 'x' } }).catch((e: unknown) => e);
    assert.ok(denied instanceof McpError);
    assert.equal(denied.code, -32602);
  });

  it('federates resources and prompts', async () => {
    const client = await gw.connect('full');
    const resources = (await client.listResources()).resources;
    assert.ok(resources.length > 0);
    const first = resources[0]!;
    const read = await client.readResource({ uri: first.uri });
    assert.ok(read.contents.length > 0);
    const prompts = (await client.listPrompts()).prompts;
    const prompt = prompts.find((p) => p.name.startsWith('remote_'));
    assert.ok(prompt, 'remote prompt listed under its exposed name');
    const args = Object.fromEntries((prompt.arguments ?? []).map((a) => [a.name, 'value']));
    const got = await client.getPrompt({ name: prompt.name, arguments: args });
    assert.ok(got.messages.length > 0);
  });

  it('forwards progress notifications from the upstream to the agent', async () => {
    const client = await gw.connect('full');
    const updates: number[] = [];
    const result = await client.callTool({ name: 'remote_slow', arguments: { ms: 200 } }, undefined, {
      onprogress: (p) => updates.push(p.progress),
    });
    assert.notEqual(result.isError, true);
    assert.ok(updates.length >= 2, `expected progress, got ${updates.length}`);
  });

  it('relays sampling requests from the upstream to the calling agent', async () => {
    const client = await gw.connect('full', { capabilities: { sampling: {} } });
    let asked = 0;
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked += 1;
      return { role: 'assistant', content: { type: 'text', text: 'sampled-by-agent' }, model: 'test-model' };
    });
    const result = await client.callTool({ name: 'local_ask_model', arguments: { question: 'hi' } });
    assert.equal(asked, 1);
    assert.match(JSON.stringify(result.content), /sampled-by-agent/);
  });

  it("propagates the agent's traceparent to the upstream in _meta", async () => {
    const client = await gw.connect('full');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const result = await client.callTool({ name: 'remote_meta_echo', arguments: {}, _meta: { traceparent } });
    assert.match(JSON.stringify(result.content), new RegExp(traceparent));
  });

  it('refreshes the catalog and notifies agents when an upstream tool list changes', async () => {
    const client = await gw.connect('full');
    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    const before = (await client.listTools()).tools.length;
    await client.callTool({ name: 'remote_mutate_tools', arguments: {} });
    await changed;
    const afterCount = (await client.listTools()).tools.length;
    assert.equal(afterCount, before + 1);
  });
});
