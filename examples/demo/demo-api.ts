/**
 * The demo backend: a tiny helpdesk REST API (in-memory). `portcullis demo` starts it on 127.0.0.1:18081.
 * Every request is logged to stderr so you can watch what actually reaches the backend.
 */
import { createServer, type Server } from 'node:http';

interface Ticket {
  id: number;
  title: string;
  status: 'open' | 'closed';
  comments: string[];
}

export function createDemoApi(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Server {
  const tickets = new Map<number, Ticket>([
    [1, { id: 1, title: 'Printer on floor 3 is jammed', status: 'open', comments: [] }],
    [2, { id: 2, title: 'VPN drops every hour', status: 'open', comments: ['Seen on macOS only'] }],
    [3, { id: 3, title: 'Refund request for order 1042', status: 'closed', comments: [] }],
  ]);
  return createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 64 * 1024) req.destroy();
    });
    req.on('end', () => {
      log(`[demo-api] ${req.method} ${req.url}`);
      const url = new URL(req.url ?? '/', 'http://demo-api.local');
      const send = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      const match = /^\/tickets(?:\/(\d+))?(\/comments)?$/.exec(url.pathname);
      if (match === null) return send(404, { error: 'not found' });
      const id = match[1] === undefined ? undefined : Number(match[1]);
      if (id === undefined) {
        if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
        const status = url.searchParams.get('status');
        return send(200, { tickets: [...tickets.values()].filter((t) => status === null || t.status === status) });
      }
      const ticket = tickets.get(id);
      if (ticket === undefined) return send(404, { error: `no ticket ${id}` });
      if (match[2] !== undefined) {
        if (req.method !== 'POST') return send(405, { error: 'method not allowed' });
        let text: unknown;
        try {
          text = (JSON.parse(body) as { text?: unknown }).text;
        } catch {
          return send(400, { error: 'invalid JSON' });
        }
        if (typeof text !== 'string' || text === '') return send(400, { error: 'text is required' });
        ticket.comments.push(text);
        return send(201, ticket);
      }
      if (req.method === 'GET') return send(200, ticket);
      if (req.method === 'DELETE') {
        tickets.delete(id);
        return send(200, { deleted: id });
      }
      return send(405, { error: 'method not allowed' });
    });
  });
}
