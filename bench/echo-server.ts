/**
 * The benchmark's upstream: an SDK `McpServer` with one `echo` tool, doing as little as possible so the
 * numbers measure what sits in front of it.
 *
 *   node --import tsx bench/echo-server.ts            MCP over stdio
 *   node --import tsx bench/echo-server.ts --http     Streamable HTTP on 127.0.0.1 (port 0, or --port N);
 *                                                     prints `Echo server listening on http://127.0.0.1:PORT/mcp`
 *
 * Over HTTP it serves both protocol eras, as an SDK server that keeps its 2025 sessions is deployed: each
 * 2025 session gets its own `McpServer` of the SDK's 1.x line (stateful sessions, SSE responses), and a POST
 * with no session id that is not `initialize` is a 2026-07-28 request, served by the strict per-request
 * handler of the 2.x line, the one that implements that revision (`createMcpHandler` with `legacy:
 * 'reject'`, one `McpServer` per request), through the SDK's Node adapter (`toNodeHandler`), which answers
 * anything it does not take with the SDK's own errors.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpHandler, McpServer as ModernMcpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { portNumber } from './lib/options.js';
// Two dependency-free modules of the gateway's own, not its HTTP edge (which would load Express here).
import { BodyError, readJsonBody } from '../gateway/edges/http/read-json.js';
import { sendJson } from '../gateway/edges/http/send-json.js';

/** The echo tool, the same in both eras: its server's name, its own, its argument and what it answers. */
const SERVER_INFO = { name: 'bench-echo', version: '1.0.0' };
const DESCRIPTION = 'Return the text unchanged';
const textArgument = { text: z.string().max(65_536) };
const echo = ({ text }: { text: string }) => ({ content: [{ type: 'text' as const, text }] });

export function createEchoServer(): McpServer {
  const server = new McpServer(SERVER_INFO);
  server.registerTool('echo', { description: DESCRIPTION, inputSchema: textArgument }, echo);
  return server;
}

/** The same echo tool on the SDK's 2026-07-28 server, one instance per request. */
export function createModernEchoServer(): ModernMcpServer {
  const server = new ModernMcpServer(SERVER_INFO);
  server.registerTool('echo', { description: DESCRIPTION, inputSchema: z.object(textArgument) }, echo);
  return server;
}

export interface EchoHttpServer {
  url: string;
  /** Sessions initialized and not yet ended. */
  openSessions(): number;
  /** Requests served in the 2026-07-28 era since the server started (each is one request, no session). */
  modernRequests(): number;
  close(): Promise<void>;
}

/** The largest request body the echo server reads itself (a 2026-07-28 request, or `initialize`). */
const MAX_BODY_BYTES = 1 << 20;

/** A single JSON-RPC message that is not `initialize`: with no session id, a 2026-07-28 request. */
function isModernCandidate(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  return (body as { method?: unknown }).method !== 'initialize';
}

/** A JSON-RPC error with no id, as the SDK's transports answer a request they cannot take. */
function answerError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

export async function startEchoHttpServer(port = 0): Promise<EchoHttpServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const modern = createMcpHandler(() => createModernEchoServer(), { legacy: 'reject' });
  const serveModern = toNodeHandler(modern);
  let modernRequests = 0;
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
        answerError(res, 404, -32001, 'Session not found');
        return;
      }
      let body: unknown;
      if (req.method === 'POST') {
        try {
          body = await readJsonBody(req, MAX_BODY_BYTES);
        } catch (error) {
          const status = error instanceof BodyError ? error.status : 400;
          answerError(
            res,
            status,
            status === 400 ? -32700 : -32000,
            error instanceof Error ? error.message : 'Bad body',
          );
          return;
        }
        if (isModernCandidate(body)) {
          modernRequests += 1;
          // The adapter's request type declares `method?: string`, which Node's `string | undefined` does not
          // fit under exactOptionalPropertyTypes; it is the request the adapter is written for.
          await serveModern(req as Parameters<typeof serveModern>[0], res, body);
          return;
        }
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
      await transport.handleRequest(req, res, body);
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
    modernRequests: () => modernRequests,
    async close() {
      const all = [...sessions.values()];
      sessions.clear();
      await modern.close().catch(() => undefined);
      await Promise.all(all.map((t) => t.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const USAGE = `usage: node --import tsx bench/echo-server.ts            MCP over stdio
       node --import tsx bench/echo-server.ts --http     Streamable HTTP on 127.0.0.1 (port 0, or --port N)

The benchmark's upstream: an MCP server with one echo tool.`;

if (isEntryPoint(import.meta.url)) {
  const { http, port } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: { http: { type: 'boolean', default: false }, port: { type: 'string', default: '0' } },
    });
    return { http: values.http, port: portNumber('port', values.port) };
  });
  if (http) {
    const server = await startEchoHttpServer(port);
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
