/**
 * Limits on upstream MCP servers, through a real gateway: a per-request deadline that aborts the
 * exchange and frees its socket, and a cap on one upstream message counted while it streams, over
 * Streamable HTTP and stdio. The upstreams are hand-written (test/fixtures/mcp-upstream-raw.ts) so they can
 * stall forever or answer with 100 MiB without holding it in memory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startRawUpstreamHttp, type RawUpstreamHttp } from './fixtures/mcp-upstream-raw.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { eventually } from './helpers/eventually.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REQUEST_TIMEOUT_MS = 600;
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Gateway RSS may grow by this much while a 100 MiB HTTP answer is refused (it grew by ~550 MB unbounded). */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024;
/**
 * A stdio message is read to its end (its id may be last), so all its bytes pass through as short-lived
 * read buffers; when the allocator hands their memory back is not ours to decide, so RSS is held under the
 * message's own size: buffering it whole (as bytes, then as text) would take well over that.
 */
const STDIO_MESSAGE_BYTES = 256 * 1024 * 1024;
const STDIO_RSS_GROWTH_BOUND = STDIO_MESSAGE_BYTES;

function code(result: unknown): unknown {
  return (result as { _meta?: Record<string, unknown> })._meta?.['portcullis/code'];
}

/** Established TCP connections from this process towards `port` (the gateway's side). */
function socketsTo(port: number): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '').length;
}

/** Run `fn` while sampling RSS; returns the peak growth over the RSS before it started. */
async function rssGrowthDuring(fn: () => Promise<void>): Promise<number> {
  globalThis.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return peak - start;
}

describe('upstream MCP limits', () => {
  let upstream: RawUpstreamHttp;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    upstream = await startRawUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [
          { id: 'up', kind: 'mcp', transport: 'http', url: upstream.url, requestTimeoutMs: REQUEST_TIMEOUT_MS },
          // The same upstream with a deadline far beyond what refusing an answer takes: for the size tests,
          // where the refusal and not the deadline must end the call.
          { id: 'bighttp', kind: 'mcp', transport: 'http', url: upstream.url, requestTimeoutMs: 60_000 },
          {
            id: 'local',
            kind: 'mcp',
            transport: 'stdio',
            command: process.execPath,
            args: ['--import', 'tsx', path.join(here, 'fixtures/mcp-upstream-raw.ts'), '--stdio'],
            cwd: path.join(here, '..'),
            requestTimeoutMs: REQUEST_TIMEOUT_MS,
          },
          {
            // The same upstream with a deadline far beyond what dropping 100 MiB takes: the refusal, not the
            // deadline, must end these calls.
            id: 'big',
            kind: 'mcp',
            transport: 'stdio',
            command: process.execPath,
            args: ['--import', 'tsx', path.join(here, 'fixtures/mcp-upstream-raw.ts'), '--stdio'],
            cwd: path.join(here, '..'),
            requestTimeoutMs: 60_000,
          },
        ],
        egress: {
          maxResponseBytes: MAX_MESSAGE_BYTES,
          connectors: { up: { allowPrivate: ['loopback'] }, bighttp: { allowPrivate: ['loopback'] } },
        },
      },
      [{ id: 'agent', tools: ['up_*', 'bighttp_*', 'local_*', 'big_*'] }],
    );
    client = await gw.connect('agent');
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  describe('over Streamable HTTP', () => {
    it('times out stalled calls and aborts their requests: no socket or upstream request is left behind', async () => {
      // Warm up: the connection pool of this agent's scope exists before counting.
      assert.equal((await client.callTool({ name: 'up_echo', arguments: { text: 'hi' } })).isError, undefined);
      const socketsBefore = socketsTo(upstream.port);

      const results = await Promise.all(
        Array.from({ length: 20 }, () => client.callTool({ name: 'up_stall', arguments: {} })),
      );
      for (const result of results) assert.equal(code(result), 'UPSTREAM_TIMEOUT', JSON.stringify(result));

      await eventually(() => upstream.openCalls() === 0, 'the upstream to see every stalled request closed');
      // Idle keep-alive connections (the cancellation notices went over new ones) close within undici's
      // keep-alive timeout; a held request would keep its socket for good.
      await eventually(() => socketsTo(upstream.port) <= socketsBefore, 'the gateway to release the sockets', 20_000);
      assert.ok(socketsTo(upstream.port) <= socketsBefore);
      // The connector still serves calls afterwards.
      const after = await client.callTool({ name: 'up_echo', arguments: { text: 'still here' } });
      assert.deepEqual(after.content, [{ type: 'text', text: 'still here' }]);
    });

    for (const tool of ['bighttp_huge', 'bighttp_huge_sse']) {
      it(`${tool}: a 100 MiB answer is refused with RESPONSE_TOO_LARGE while streaming, RSS growth bounded`, async () => {
        const sentBefore = upstream.hugeBytesSent();
        let result: unknown;
        const growth = await rssGrowthDuring(async () => {
          result = await client.callTool({ name: tool, arguments: {} });
        });
        assert.equal(code(result), 'RESPONSE_TOO_LARGE', JSON.stringify(result).slice(0, 300));
        assert.ok(growth < RSS_GROWTH_BOUND, `RSS grew by ${Math.round(growth / 1048576)} MiB`);
        await eventually(() => upstream.openCalls() === 0, 'the upstream to see the answer cut off');
        const sent = upstream.hugeBytesSent() - sentBefore;
        assert.ok(sent < 50 * 1024 * 1024, `the upstream stopped early (wrote ${sent} bytes)`);
      });
    }

    it('an answer under the cap passes', async () => {
      const result = await client.callTool({ name: 'bighttp_huge', arguments: { bytes: 100_000 } });
      assert.equal(result.isError, undefined);
      // The fixture writes whole 64 KiB chunks: 100 000 bytes asked for are two of them.
      assert.equal((result.content as { text: string }[])[0]?.text.length, 2 * 64 * 1024);
    });
  });

  describe('over stdio', () => {
    it('times out a stalled call at the deadline; the connector keeps serving', async () => {
      const result = await client.callTool({ name: 'local_stall', arguments: {} });
      assert.equal(code(result), 'UPSTREAM_TIMEOUT');
      const next = await client.callTool({ name: 'local_echo', arguments: { text: 'ok' } });
      assert.deepEqual(next.content, [{ type: 'text', text: 'ok' }]);
    });

    for (const [label, idFirst] of [
      ['id last, as the TypeScript SDK writes it', false],
      ['id first', true],
    ] as const) {
      it(`a 256 MiB message (${label}) is refused with RESPONSE_TOO_LARGE without buffering it whole`, async () => {
        let result: unknown;
        const growth = await rssGrowthDuring(async () => {
          result = await client.callTool({ name: 'big_huge', arguments: { idFirst, bytes: STDIO_MESSAGE_BYTES } });
        });
        assert.equal(code(result), 'RESPONSE_TOO_LARGE', JSON.stringify(result).slice(0, 300));
        assert.ok(growth < STDIO_RSS_GROWTH_BOUND, `RSS grew by ${Math.round(growth / 1048576)} MiB`);
        // The rest of the oversized line is skipped, and the next message is read normally.
        const next = await client.callTool({ name: 'big_echo', arguments: { text: 'after' } });
        assert.deepEqual(next.content, [{ type: 'text', text: 'after' }]);
      });
    }
  });
});
