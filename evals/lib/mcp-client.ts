/**
 * A deliberately raw MCP client over Streamable HTTP: plain fetch, hand-built JSON-RPC, so a scenario can
 * send what a well-behaved SDK client never would (repeated headers, forged sessions, batches, odd `_meta`),
 * and read the answer whether it comes as JSON or as an SSE stream.
 */
import { request as httpRequest } from 'node:http';

export const PROTOCOL_VERSION = '2025-06-18';

export interface RpcMessage {
  jsonrpc?: string;
  id?: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The JSON-RPC answer to the request's id, when there was one. */
  message?: RpcMessage;
}

/** JSON-RPC messages in a JSON or SSE body. */
export function parseMessages(contentType: string, text: string): RpcMessage[] {
  const parse = (raw: string): RpcMessage[] => {
    try {
      const value = JSON.parse(raw) as unknown;
      return (Array.isArray(value) ? value : [value]).filter(
        (v): v is RpcMessage => v !== null && typeof v === 'object',
      );
    } catch {
      return [];
    }
  };
  if (contentType.includes('text/event-stream')) {
    return text
      .split(/\r?\n\r?\n/)
      .map((event) =>
        event
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n'),
      )
      .filter((data) => data !== '')
      .flatMap(parse);
  }
  return text.trim() === '' ? [] : parse(text);
}

/**
 * One HTTP exchange with node:http, so repeated header lines are sent as separate lines (fetch would
 * merge them). Reads the whole body; SSE streams end when the gateway has answered every request in it.
 */
export function send(options: {
  url: string;
  method: string;
  headers: [string, string][];
  body?: string;
  /** Stop reading an SSE stream once the answer to this id has arrived. */
  awaitId?: string | number;
}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(options.url);
    const flat: string[] = [];
    // With headers given as a list node does not add Host itself.
    if (!options.headers.some(([n]) => n.toLowerCase() === 'host')) flat.push('host', url.host);
    for (const [name, value] of options.headers) flat.push(name, value);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method,
        headers: flat,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const contentType = String(res.headers['content-type'] ?? '');
        const finish = (): void => {
          const text = Buffer.concat(chunks).toString('utf8');
          const messages = parseMessages(contentType, text);
          const message =
            messages.find(
              (m) =>
                options.awaitId !== undefined &&
                m.id === options.awaitId &&
                (m.result !== undefined || m.error !== undefined),
            ) ?? messages.find((m) => m.error !== undefined && (m.id === null || m.id === undefined));
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            ...(message !== undefined ? { message } : {}),
          });
        };
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (contentType.includes('text/event-stream') && options.awaitId !== undefined) {
            const messages = parseMessages(contentType, Buffer.concat(chunks).toString('utf8'));
            if (messages.some((m) => m.id === options.awaitId && (m.result !== undefined || m.error !== undefined))) {
              res.destroy();
              finish();
            }
          }
        });
        res.on('end', finish);
        res.on('error', () => finish());
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An MCP session opened with one bearer credential. */
export class RawMcpSession {
  sessionId: string | undefined;
  private nextId = 1;

  constructor(
    private readonly mcpUrl: string,
    private readonly bearer: string,
  ) {}

  baseHeaders(): [string, string][] {
    return [
      ['content-type', 'application/json'],
      ['accept', 'application/json, text/event-stream'],
      ['authorization', `Bearer ${this.bearer}`],
      ...(this.sessionId !== undefined
        ? ([
            ['mcp-session-id', this.sessionId],
            ['mcp-protocol-version', PROTOCOL_VERSION],
          ] as [string, string][])
        : []),
    ];
  }

  /** Initialize; returns the HTTP answer (the session id is kept when the gateway accepted). */
  async open(): Promise<HttpAnswer> {
    const id = this.nextId++;
    const answer = await send({
      url: this.mcpUrl,
      method: 'POST',
      headers: this.baseHeaders(),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        params: {
          protocolVersion: PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'portcullis-evals', version: '1' },
        },
      }),
      awaitId: id,
    });
    const sessionId = answer.headers['mcp-session-id'];
    if (answer.status === 200 && typeof sessionId === 'string') {
      this.sessionId = sessionId;
      await send({
        url: this.mcpUrl,
        method: 'POST',
        headers: this.baseHeaders(),
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      });
    }
    return answer;
  }

  async request(method: string, params: Record<string, unknown>): Promise<HttpAnswer> {
    const id = this.nextId++;
    return send({
      url: this.mcpUrl,
      method: 'POST',
      headers: this.baseHeaders(),
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      awaitId: id,
    });
  }

  async close(): Promise<void> {
    if (this.sessionId === undefined) return;
    await send({ url: this.mcpUrl, method: 'DELETE', headers: this.baseHeaders() }).catch(() => undefined);
    this.sessionId = undefined;
  }
}
