import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpConnectorConfigSchema } from './config.js';

describe('McpConnectorConfigSchema', () => {
  it('fills in defaults for stdio', () => {
    const config = McpConnectorConfigSchema.parse({
      id: 'files',
      kind: 'mcp',
      transport: 'stdio',
      command: 'mcp-files',
    });
    assert.deepEqual(config, {
      id: 'files',
      kind: 'mcp',
      required: false,
      transport: 'stdio',
      command: 'mcp-files',
      args: [],
      env: {},
      restart: { initialDelayMs: 200, maxDelayMs: 30_000 },
      requestTimeoutMs: 60_000,
    });
  });

  it('accepts http with headers and a timeout', () => {
    const config = McpConnectorConfigSchema.parse({
      id: 'remote',
      kind: 'mcp',
      transport: 'http',
      url: 'https://mcp.example.com/mcp',
      headers: { 'x-team': 'a' },
      requestTimeoutMs: 5000,
    });
    assert.equal(config.transport, 'http');
    assert.equal(config.requestTimeoutMs, 5000);
  });

  it('rejects unknown keys, bad ids, bad URLs and mixed transports', () => {
    const bad: unknown[] = [
      { id: 'files', kind: 'mcp', transport: 'stdio', command: 'x', comand: 'typo' },
      { id: 'Files', kind: 'mcp', transport: 'stdio', command: 'x' },
      { id: 'has_underscore', kind: 'mcp', transport: 'stdio', command: 'x' },
      { id: 'files', kind: 'mcp', transport: 'stdio', command: '' },
      { id: 'files', kind: 'mcp', transport: 'http', url: 'file:///etc/passwd' },
      { id: 'files', kind: 'mcp', transport: 'http', url: 'not a url' },
      { id: 'files', kind: 'mcp', transport: 'http', url: 'https://x.example', command: 'x' },
      { id: 'files', kind: 'mcp', transport: 'http', url: 'https://x.example', restart: {} },
      { id: 'files', kind: 'mcp', transport: 'ws', url: 'https://x.example' },
      { id: 'files', kind: 'http', transport: 'stdio', command: 'x' },
      { id: 'files', kind: 'mcp', transport: 'stdio', command: 'x', env: { 'BAD-NAME': 'v' } },
      {
        id: 'files',
        kind: 'mcp',
        transport: 'stdio',
        command: 'x',
        restart: { initialDelayMs: 5000, maxDelayMs: 100 },
      },
      { id: 'files', kind: 'mcp', transport: 'stdio', command: 'x', restart: { maxRestarts: -1 } },
    ];
    for (const input of bad)
      assert.equal(McpConnectorConfigSchema.safeParse(input).success, false, JSON.stringify(input));
  });
});
