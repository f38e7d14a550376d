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
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { startHttpBackend, TEXT_TOOL } from './fixtures/http-backend.js';
import { cliArgs } from './fixtures/gateway-process.js';
import { startOtlpReceiver, type OtlpReceiver } from './fixtures/otlp-receiver.js';

describe('stdio front door', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let dir: string;
  let client: Client;
  let receiver: OtlpReceiver;

  before(async () => {
    backend = await startHttpBackend();
    receiver = await startOtlpReceiver();
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
            TEXT_TOOL,
          ],
        },
      ],
      egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      agents: [{ id: 'desktop', tools: ['api_echo'] }],
      audit: { file: path.join(dir, 'audit.jsonl') },
      policy: { watch: false },
      telemetry: { enabled: true, serviceName: 'portcullis-stdio-test', otlpEndpoint: receiver.url, sampleRatio: 1 },
    };
    await writeFile(path.join(dir, 'portcullis.yaml'), stringify(config));
    client = new Client({ name: 'desktop-client', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: cliArgs('stdio', '--config', path.join(dir, 'portcullis.yaml')),
        env: { ...getDefaultEnvironment(), OTEL_BSP_SCHEDULE_DELAY: '100' },
        stderr: 'ignore',
      }),
    );
  });
  after(async () => {
    await client?.close();
    await backend?.close();
    await receiver?.close();
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

  it('marks call spans with the pipe transport and the negotiated protocol version', async () => {
    await client.callTool({ name: 'api_echo', arguments: {} });
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === 'tools/call api_echo'));
    const span = spans.find((s) => s.name === 'tools/call api_echo')!;
    assert.equal(span.attributes['network.transport'], 'pipe');
    assert.equal(span.attributes['mcp.protocol.version'], LATEST_PROTOCOL_VERSION);
    assert.equal(span.attributes['network.protocol.name'], undefined, 'stdio has no network protocol');
  });
});
