/**
 * `--trace-context`: every call of both drivers, in both eras, carries a trace context of its own in
 * `params._meta`, as an agent that traces its work sends. Checked on what reaches a server that records
 * the requests and answers each call with its echo.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runLoad, type DriverName } from './load.js';
import type { EraMode } from './eras.js';
import { freshTraceContext } from './trace-context.js';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/** The `params` of every `tools/call` it was sent; a 2025 session's handshake and each call's echo. */
function startRecordingServer(): Promise<{ url: string; calls: Record<string, unknown>[]; server: Server }> {
  const calls: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    // No stream to open (GET) and no session to end (DELETE): a client takes 405 for both.
    if (req.method !== 'POST') return void res.writeHead(405).end();
    void bodyOf(req).then((message) => {
      const answer = (result: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: message['id'], result }));
      };
      const params = (message['params'] ?? {}) as Record<string, unknown>;
      if (message['method'] === 'initialize') {
        const serverInfo = { name: 'recorder', version: '1.0.0' };
        answer(
          { protocolVersion: params['protocolVersion'], capabilities: { tools: {} }, serverInfo },
          {
            'mcp-session-id': 'recorded',
          },
        );
      } else if (message['method'] === 'tools/call') {
        calls.push(params);
        const text = (params['arguments'] as { text: string }).text;
        answer({ content: [{ type: 'text', text }] });
      } else res.writeHead(202).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, calls, server }),
    ),
  );
}

describe('a trace context of its own in every call', () => {
  let recorder: Awaited<ReturnType<typeof startRecordingServer>>;
  before(async () => {
    recorder = await startRecordingServer();
  });
  after(() => {
    recorder.server.closeAllConnections();
    recorder.server.close();
  });

  it('is a sampled W3C traceparent, new each time', () => {
    const seen = new Set<string>();
    for (let n = 0; n < 100; n++) {
      const { traceparent } = freshTraceContext();
      assert.match(traceparent, TRACEPARENT);
      seen.add(traceparent.slice(3, 35));
    }
    assert.equal(seen.size, 100);
  });

  const cases: [DriverName, EraMode][] = [
    ['raw', 'legacy'],
    ['raw', 'modern'],
    ['sdk', 'legacy'],
  ];
  for (const [driver, mode] of cases) {
    it(`reaches the server from the ${driver} driver in the ${mode} era, and only when asked for`, async () => {
      for (const traceContext of [true, false]) {
        recorder.calls.length = 0;
        const result = await runLoad({
          url: recorder.url,
          tool: 'echo',
          args: { text: 'traced' },
          expectText: 'traced',
          sessions: 2,
          warmupCalls: 1,
          callsPerSession: 3,
          maxSeconds: 30,
          driver,
          mode,
          traceContext,
        });
        assert.equal(result.errors, 0, result.firstError);
        assert.equal(recorder.calls.length, 8);
        const parents = recorder.calls.map(
          (params) => (params['_meta'] as { traceparent?: string } | undefined)?.traceparent,
        );
        if (!traceContext) {
          assert.deepEqual(parents, Array(8).fill(undefined));
          continue;
        }
        for (const parent of parents) assert.match(parent ?? '', TRACEPARENT);
        assert.equal(new Set(parents).size, 8, 'each call its own trace');
        if (mode === 'modern')
          for (const params of recorder.calls)
            assert.equal(
              (params['_meta'] as Record<string, unknown>)['io.modelcontextprotocol/protocolVersion'],
              '2026-07-28',
            );
      }
    });
  }
});
