/**
 * The conformance fixture served over Streamable HTTP on 127.0.0.1 (port 0), with the suite's own names,
 * so the suite can be run straight against it: this proves the fixture right before the gateway is put
 * in between.
 *
 * Stateful sessions (one `McpServer` per session), an in-memory event store so a stream closed mid-call
 * can be resumed with `Last-Event-ID`, and the SDK's localhost Host-header check (DNS-rebinding defence).
 */
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { createConformanceUpstream } from '../fixtures/conformance-upstream.js';

export interface ConformanceUpstreamHttp {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  close(): Promise<void>;
}

/** Keeps every event of every stream in memory: enough for a short test run. */
function createMemoryEventStore(): EventStore {
  const events = new Map<string, { streamId: string; message: JSONRPCMessage }>();
  const order: string[] = [];
  return {
    async storeEvent(streamId, message) {
      const eventId = `${streamId}_${order.length}_${randomUUID().slice(0, 8)}`;
      events.set(eventId, { streamId, message });
      order.push(eventId);
      return eventId;
    },
    async getStreamIdForEventId(eventId) {
      return events.get(eventId)?.streamId;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const last = events.get(lastEventId);
      if (last === undefined) return '';
      const start = order.indexOf(lastEventId) + 1;
      for (const eventId of order.slice(start)) {
        const event = events.get(eventId);
        if (event?.streamId === last.streamId) await send(eventId, event.message);
      }
      return last.streamId;
    },
  };
}

export async function startConformanceUpstreamHttp(): Promise<ConformanceUpstreamHttp> {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; close: () => Promise<void> }>();

  const handle = async (req: Request, res: Response): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing !== undefined) {
      await existing.transport.handleRequest(req, res, req.body);
      return;
    }
    if (sessionId === undefined && req.method === 'POST' && isInitializeRequest(req.body)) {
      const server = createConformanceUpstream();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: createMemoryEventStore(),
        retryInterval: 500,
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, close: () => server.close() });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      return;
    }
    res
      .status(sessionId === undefined ? 400 : 404)
      .json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  };

  app.all('/mcp', (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.status(500);
      res.end();
    });
  });

  const http = await new Promise<HttpServer>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async close() {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((s) => s.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
