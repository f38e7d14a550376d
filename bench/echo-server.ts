/**
 * The benchmark's upstream: an SDK `McpServer` with one `echo` tool, doing as little as possible so the
 * numbers measure what sits in front of it.
 *
 *   node --import tsx bench/echo-server.ts            MCP over stdio
 *   node --import tsx bench/echo-server.ts --http     Streamable HTTP on 127.0.0.1 (port 0, or --port N);
 *                                                     prints `Echo server listening on http://127.0.0.1:PORT/mcp`
 *
 * Over HTTP each session gets its own `McpServer` (stateful sessions, SSE responses), as SDK servers
 * are usually deployed.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export function createEchoServer(): McpServer {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Return the text unchanged', inputSchema: { text: z.string().max(65_536) } },
    ({ text }) => ({
      content: [{ type: 'text', text }],
    }),
  );
  return server;
}

export interface EchoHttpServer {
  url: string;
  /** Sessions initialized and not yet ended. */
  openSessions(): number;
  close(): Promise<void>;
}

export async function startEchoHttpServer(port = 0): Promise<EchoHttpServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    void (async () => {
      if (req.url !== '/mcp') {
        res.writeHead(404).end();
        return;
      }
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      if (existing !== undefined) {
        await existing.handleRequest(req, res);
        return;
      }
      if (sessionId !== undefined) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      // No session yet: the transport accepts only an initialize request here and answers anything else 400.
      const server = createEchoServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const address = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/mcp`,
    openSessions: () => sessions.size,
    async close() {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((t) => t.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { http: { type: 'boolean', default: false }, port: { type: 'string', default: '0' } },
  });
  if (values.http) {
    const server = await startEchoHttpServer(Number(values.port));
    process.stdout.write(`Echo server listening on ${server.url}\n`);
    const stop = (): void => {
      void server.close().finally(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } else {
    const server = createEchoServer();
    await server.connect(new StdioServerTransport());
    process.stdin.once('end', () => {
      void server.close().finally(() => process.exit(0));
    });
  }
}
