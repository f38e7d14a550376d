/**
 * What the stdio transport passes on from its child: JSON-RPC 2.0 messages only. A line that is not JSON,
 * or not a JSON-RPC 2.0 object, is reported through `onerror` and goes no further. A message with a valid
 * envelope whose members fit no message kind is the protocol layer's to refuse: an upstream that answers a
 * call with such a message and then with a proper answer has its call completed by the proper one, and a
 * malformed result never reaches the caller. A response that is not a valid result of its method fails the call.
 * A malformed answer leaves its call attributed to its request: an oversized answer after it fails the call at
 * once with RESPONSE_TOO_LARGE.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { eventually } from '../../test/helpers/eventually.js';
import { runInCallScope } from './call-scope.js';
import { LimitedStdioTransport } from './stdio-transport.js';

/** A transport to a Node child running `script`. */
function nodeChild(script: string, maxMessageBytes = 1 << 20): LimitedStdioTransport {
  return new LimitedStdioTransport({ command: process.execPath, args: ['-e', script], env: {}, maxMessageBytes });
}

/** A child that writes the given lines, then echoes every line it reads. */
function scripted(lines: string[]): LimitedStdioTransport {
  const script = `
for (const line of ${JSON.stringify(lines)}) process.stdout.write(line + '\\n');
process.stdin.on('data', (chunk) => process.stdout.write(chunk));
process.stdin.on('end', () => process.exit(0));
`;
  return nodeChild(script);
}

/**
 * A child that reads JSON-RPC messages line by line and runs `answer`, JavaScript with `message` (the
 * message read) and `send` (writes one message) in scope, for each.
 */
function answeringChild(answer: string, maxMessageBytes?: number): LimitedStdioTransport {
  const script = `
let buffered = '';
const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let end;
  while ((end = buffered.indexOf('\\n')) >= 0) {
    const message = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    ${answer}
  }
});
process.stdin.on('end', () => process.exit(0));
`;
  return nodeChild(script, maxMessageBytes);
}

/**
 * A 2025-era MCP server in a few lines: it answers `initialize`, answers `tools/call` first with `bad`
 * (the same id, a malformed answer) and then with a proper result, and refuses any other request.
 */
function upstreamAnsweringTwice(bad: unknown): LimitedStdioTransport {
  return answeringChild(`
    if (message.id === undefined) continue;
    if (message.method === 'initialize') {
      send({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: message.params.protocolVersion,
        capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '1.0.0' } } });
    } else if (message.method === 'tools/call') {
      send({ ...${JSON.stringify(bad)}, jsonrpc: '2.0', id: message.id });
      send({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: 'the proper answer' }] } });
    } else {
      send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } });
    }`);
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
      await eventually(() => received.length > 0, 'the echoed request');
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

  it('keeps a call waiting after a malformed answer: its oversized answer still fails it with RESPONSE_TOO_LARGE', async () => {
    // For every request: a malformed answer (a result that is not an object), then an answer over the cap.
    const transport = answeringChild(
      `send({ jsonrpc: '2.0', id: message.id, result: 'not an object' });
      send({ jsonrpc: '2.0', id: message.id, result: { text: 'x'.repeat(4096) } });`,
      1024,
    );
    const failures: string[] = [];
    const errors: string[] = [];
    transport.onerror = (error) => errors.push(error.message);
    transport.onmessage = () => undefined;
    await transport.start();
    try {
      const call = new AbortController();
      const scope = { signal: call.signal, fail: (error: { code: string }) => failures.push(error.code) };
      await runInCallScope(scope, () => transport.send({ jsonrpc: '2.0', id: 1, method: 'tools/call' }));
      const unattributed = (): boolean => errors.some((message) => message.startsWith('dropped a message'));
      await eventually(() => failures.length > 0 || unattributed(), 'the oversized answer');
      assert.deepEqual(failures, ['RESPONSE_TOO_LARGE']);
      assert.equal(unattributed(), false, 'the oversized answer was dropped without failing its call');
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

describe('messages to a stdio child', () => {
  /** Counts the writes stdin hands to the pipe (one system call each, however many messages they carry). */
  function countPipeWrites(transport: LimitedStdioTransport): { writes: number } {
    const stdin = transport['child']?.stdin as
      | (NodeJS.WritableStream & { _write: (...args: unknown[]) => void; _writev?: (...args: unknown[]) => void })
      | null
      | undefined;
    assert.ok(stdin, 'the child is running');
    const counted = { writes: 0 };
    const write = stdin._write.bind(stdin);
    stdin._write = (...args: unknown[]) => {
      counted.writes += 1;
      write(...args);
    };
    const writev = stdin._writev?.bind(stdin);
    if (writev !== undefined)
      stdin._writev = (...args: unknown[]) => {
        counted.writes += 1;
        writev(...args);
      };
    return counted;
  }

  it('sends the messages of one turn of the event loop in one write to the pipe, in order, and later ones at once', async () => {
    const transport = answeringChild(`send({ jsonrpc: '2.0', id: message.id, result: { seen: message.params.n } });`);
    const seen: unknown[] = [];
    transport.onmessage = (message) => seen.push((message as unknown as { result: { seen: unknown } }).result.seen);
    await transport.start();
    try {
      const pipe = countPipeWrites(transport);
      const request = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', id: n, method: 'ping', params: { n } });
      await Promise.all([1, 2, 3, 4, 5].map((n) => transport.send(request(n))));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(pipe.writes, 1, 'five messages sent in one turn, one write');
      await eventually(() => seen.length >= 5, 'the answers to the five messages');
      assert.deepEqual(seen, [1, 2, 3, 4, 5]);
      await transport.send(request(6));
      // Before the event loop goes on: not deferred to a later phase or a timer.
      await new Promise((resolve) => process.nextTick(resolve));
      assert.equal(pipe.writes, 2, 'a message of a later turn is written in that turn');
      await eventually(() => seen.length >= 6, 'the answer to the sixth message');
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    } finally {
      await transport.close();
    }
  });
});
