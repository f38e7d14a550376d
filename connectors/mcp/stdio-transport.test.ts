/**
 * What the stdio transport passes on from its child: JSON-RPC 2.0 messages only. A line that is not JSON,
 * or not a JSON-RPC 2.0 object, is reported through `onerror` and goes no further. A message with a valid
 * envelope whose members fit no message kind is the protocol layer's to refuse: an upstream that answers a
 * call with such a message and then with a proper answer has its call completed by the proper one, and a
 * malformed result never reaches the caller. A response that is not a valid result of its method fails the call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { LimitedStdioTransport } from './stdio-transport.js';

/** A child that writes the given lines, then echoes every line it reads. */
function scripted(lines: string[]): LimitedStdioTransport {
  const script = `
for (const line of ${JSON.stringify(lines)}) process.stdout.write(line + '\\n');
process.stdin.on('data', (chunk) => process.stdout.write(chunk));
process.stdin.on('end', () => process.exit(0));
`;
  return new LimitedStdioTransport({
    command: process.execPath,
    args: ['-e', script],
    env: {},
    maxMessageBytes: 1 << 20,
  });
}

/**
 * A 2025-era MCP server in a few lines: it answers `initialize`, answers `tools/call` first with `bad`
 * (the same id, a malformed answer) and then with a proper result, and refuses any other request.
 */
function upstreamAnsweringTwice(bad: unknown): LimitedStdioTransport {
  const script = `
const bad = ${JSON.stringify(bad)};
let buffered = '';
const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let end;
  while ((end = buffered.indexOf('\\n')) >= 0) {
    const message = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    if (message.id === undefined) continue;
    if (message.method === 'initialize') {
      send({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: message.params.protocolVersion,
        capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '1.0.0' } } });
    } else if (message.method === 'tools/call') {
      send({ ...bad, jsonrpc: '2.0', id: message.id });
      send({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: 'the proper answer' }] } });
    } else {
      send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } });
    }
  }
});
process.stdin.on('end', () => process.exit(0));
`;
  return new LimitedStdioTransport({
    command: process.execPath,
    args: ['-e', script],
    env: {},
    maxMessageBytes: 1 << 20,
  });
}

describe('messages from a stdio child', () => {
  it('passes on JSON-RPC 2.0 messages, and reports lines that are not JSON or not JSON-RPC 2.0 instead', async () => {
    const transport = scripted([
      'not json at all',
      '[{"jsonrpc":"2.0","id":1,"result":{}}]',
      '"2.0"',
      '{"jsonrpc":"1.0","id":2,"result":{}}',
      '{"id":3,"result":{}}',
    ]);
    const errors: string[] = [];
    const received: JSONRPCMessage[] = [];
    transport.onerror = (error) => errors.push(error.message);
    transport.onmessage = (message) => received.push(message);
    await transport.start();
    try {
      await transport.send({ jsonrpc: '2.0', id: 9, method: 'ping' });
      const deadline = Date.now() + 10_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(received, [{ jsonrpc: '2.0', id: 9, method: 'ping' }]);
      assert.deepEqual(errors, [
        'the upstream sent a line that is not JSON',
        'the upstream sent a message that is not JSON-RPC 2.0',
        'the upstream sent a message that is not JSON-RPC 2.0',
        'the upstream sent a message that is not JSON-RPC 2.0',
        'the upstream sent a message that is not JSON-RPC 2.0',
      ]);
    } finally {
      await transport.close();
    }
  });

  for (const [what, bad] of [
    ['a result that is not an object', { result: 'not an object' }],
    ['a result that is an array', { result: [{ type: 'text', text: 'injected' }] }],
    ['an error without a code', { error: { message: 'injected' } }],
    ['an answer with both a result and a method', { method: 'tools/call', result: { content: [] } }],
  ] as const) {
    it(`leaves ${what} to the protocol layer, which refuses it: the call gets the proper answer`, async () => {
      const client = new Client({ name: 'test', version: '1.0.0' });
      const protocolErrors: string[] = [];
      client.onerror = (error) => protocolErrors.push(error.message);
      await client.connect(upstreamAnsweringTwice(bad));
      try {
        const result = await client.request(
          { method: 'tools/call', params: { name: 'echo', arguments: {} } },
          { timeout: 10_000 },
        );
        assert.deepEqual(result.content, [{ type: 'text', text: 'the proper answer' }]);
        assert.ok(protocolErrors.length > 0, 'the malformed answer was reported');
      } finally {
        await client.close();
      }
    });
  }

  it('fails the call on an answer that is a response but not a valid result of its method', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(upstreamAnsweringTwice({ result: { content: 'not a list of content blocks' } }));
    try {
      await assert.rejects(
        client.request({ method: 'tools/call', params: { name: 'echo', arguments: {} } }, { timeout: 10_000 }),
        { message: /^Invalid result for tools\/call/ },
      );
    } finally {
      await client.close();
    }
  });
});
