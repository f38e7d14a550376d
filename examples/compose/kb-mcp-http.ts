/**
 * The demo knowledge-base MCP server (examples/demo/demo-mcp-server.ts, a stdio server) offered over
 * Streamable HTTP at http://HOST:PORT/mcp (default 0.0.0.0:18082), so the gateway reaches it as a remote
 * upstream in compose, the way real MCP servers are deployed.
 *
 * Each MCP session gets its own child process running the stdio server; JSON-RPC messages are relayed
 * unchanged both ways (so `params._meta.traceparent` from the gateway reaches the server). A session ends
 * when the client deletes it or the child exits. At most MAX_SESSIONS sessions run at once.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const host = process.env['HOST'] ?? '0.0.0.0';
const port = Number(process.env['PORT'] ?? '18082');
const MAX_SESSIONS = 32;
const MAX_BODY_BYTES = 1024 * 1024;
// The stdio server beside this file's own form: compiled JavaScript in the image, TypeScript in a checkout.
const OWN_EXTENSION = path.extname(fileURLToPath(import.meta.url));
const KB_SERVER = fileURLToPath(new URL(`../demo/demo-mcp-server${OWN_EXTENSION}`, import.meta.url));
const KB_ARGS = OWN_EXTENSION === '.ts' ? ['--import', 'tsx', KB_SERVER] : [KB_SERVER];

interface Session {
  http: StreamableHTTPServerTransport;
  stdio: StdioClientTransport;
}
const sessions = new Map<string, Session>();

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  return body === '' ? undefined : JSON.parse(body);
}

/** A new session: a stdio child and an HTTP transport, relaying messages between them. */
async function openSession(): Promise<StreamableHTTPServerTransport> {
  const stdio = new StdioClientTransport({
    command: process.execPath,
    args: KB_ARGS,
    stderr: 'inherit',
  });
  const http: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      sessions.set(id, { http, stdio });
    },
  });
  // Responses go back on the stream of the request they answer (the HTTP transport maps them by id);
  // the server's own notifications and requests go to the session's standalone stream.
  http.onmessage = (message: JSONRPCMessage) => {
    void stdio.send(message).catch(() => undefined);
  };
  stdio.onmessage = (message: JSONRPCMessage) => {
    void http.send(message).catch(() => undefined);
  };
  const close = (): void => {
    if (http.sessionId !== undefined) sessions.delete(http.sessionId);
    void stdio.close().catch(() => undefined);
    void http.close().catch(() => undefined);
  };
  http.onclose = close;
  stdio.onclose = close;
  await stdio.start();
  await http.start();
  return http;
}

const server = createServer((req, res) => {
  void (async () => {
    if (req.url?.split('?')[0] !== '/mcp') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing !== undefined) {
      await existing.http.handleRequest(req, res, body);
      return;
    }
    if (sessionId === undefined && req.method === 'POST' && isInitializeRequest(body)) {
      if (sessions.size >= MAX_SESSIONS) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'too many sessions' }, id: null }));
        return;
      }
      const http = await openSession();
      await http.handleRequest(req, res, body);
      return;
    }
    res.writeHead(sessionId === undefined ? 400 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
  })().catch(() => {
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Bad request' }, id: null }));
  });
});

server.listen(port, host, () => {
  const address = server.address() as AddressInfo;
  process.stdout.write(`Demo knowledge-base MCP server listening on http://${address.address}:${address.port}/mcp\n`);
});

const stop = (): void => {
  for (const session of sessions.values()) {
    void session.stdio.close().catch(() => undefined);
  }
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
