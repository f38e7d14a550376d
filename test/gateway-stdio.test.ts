/**
 * The stdio front door, as a desktop MCP client uses it: the client launches `portcullis stdio` as a child
 * process and talks MCP over its stdin/stdout. Policy applies exactly as over HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { startHttpBackend } from './fixtures/http-backend.js';
import { cliArgs } from './fixtures/gateway-process.js';

describe('stdio front door', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let dir: string;
  let client: Client;

  before(async () => {
    backend = await startHttpBackend();
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-stdio-'));
    const config = {
      connectors: [
        {
          id: 'api',
          kind: 'http',
          baseUrl: backend.url,
          tools: [
            {
              name: 'echo',
              method: 'GET',
              path: '/echo',
              inputSchema: { type: 'object', properties: {}, additionalProperties: false },
            },
            {
              name: 'text',
              method: 'GET',
              path: '/text',
              inputSchema: { type: 'object', properties: {}, additionalProperties: false },
            },
          ],
        },
      ],
      egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      agents: [{ id: 'desktop', tools: ['api_echo'] }],
      audit: { file: path.join(dir, 'audit.jsonl') },
      policy: { watch: false },
    };
    await writeFile(path.join(dir, 'portcullis.yaml'), stringify(config));
    client = new Client({ name: 'desktop-client', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: cliArgs('stdio', '--config', path.join(dir, 'portcullis.yaml')),
        stderr: 'ignore',
      }),
    );
  });
  after(async () => {
    await client?.close();
    await backend?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists and calls allowed tools', async () => {
    assert.deepEqual(
      (await client.listTools()).tools.map((t) => t.name),
      ['api_echo'],
    );
    const mark = backend.requests.length;
    const result = await client.callTool({ name: 'api_echo', arguments: {} });
    assert.notEqual(result.isError, true);
    assert.equal(backend.requests.length, mark + 1);
  });

  it('refuses tools outside the allowlist without reaching the backend', async () => {
    const mark = backend.requests.length;
    const error = await client.callTool({ name: 'api_text', arguments: {} }).catch((e: unknown) => e);
    assert.ok(error instanceof McpError);
    assert.equal(error.code, -32602);
    assert.equal(backend.requests.length, mark);
  });
});
