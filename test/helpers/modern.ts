/**
 * Raw 2026-07-28 requests, as a stateless agent sends them: the per-request `_meta` envelope, the
 * `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers, no session. Responses are read whether they
 * come as JSON or as an SSE stream (the last JSON-RPC response on it).
 */
export const MODERN = '2026-07-28';

export interface ModernAnswer {
  status: number;
  headers: Headers;
  body: {
    jsonrpc: '2.0';
    id?: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

export interface ModernPostOptions {
  key?: string;
  capabilities?: Record<string, unknown>;
  meta?: Record<string, unknown>;
  /** Header overrides; `null` removes a header the helper would send. */
  headers?: Record<string, string | null>;
  id?: number | string;
  /** Aborts the request: the agent goes away (the promise then rejects). */
  signal?: AbortSignal;
}

let nextId = 1;

export function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return params['name'] as string;
  if (method === 'resources/read') return params['uri'] as string;
  if (method === 'tasks/get' || method === 'tasks/cancel' || method === 'tasks/update')
    return params['taskId'] as string;
  return undefined;
}

/** The method, headers and body of a 2026-07-28 POST, as `modernPost` sends it. */
export function modernRequestInit(
  method: string,
  params: Record<string, unknown> = {},
  options: ModernPostOptions = {},
): { method: 'POST'; headers: Record<string, string>; body: string } {
  const id = options.id ?? nextId++;
  const body = {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities': options.capabilities ?? {},
        'io.modelcontextprotocol/clientInfo': { name: 'modern-test', version: '1.0.0' },
        ...(options.meta ?? {}),
      },
    },
  };
  const name = nameOf(method, params);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(name !== undefined ? { 'mcp-name': name } : {}),
    ...(options.key !== undefined ? { authorization: `Bearer ${options.key}` } : {}),
  };
  for (const [header, value] of Object.entries(options.headers ?? {})) {
    if (value === null) delete headers[header.toLowerCase()];
    else headers[header.toLowerCase()] = value;
  }
  return { method: 'POST', headers, body: JSON.stringify(body) };
}

export async function modernPost(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  options: ModernPostOptions = {},
): Promise<ModernAnswer> {
  const response = await fetch(url, {
    ...modernRequestInit(method, params, options),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: parseAnswer(text) };
}

function parseAnswer(text: string): ModernAnswer['body'] {
  if (text.trim().startsWith('{')) return JSON.parse(text) as ModernAnswer['body'];
  let last: ModernAnswer['body'] = { jsonrpc: '2.0' };
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const message = JSON.parse(line.slice(5)) as ModernAnswer['body'] & { method?: string };
    if (message.method === undefined) last = message;
  }
  return last;
}

export interface ModernListen {
  status: number;
  /** Every JSON-RPC message received on the stream so far, in order. */
  messages: Record<string, unknown>[];
  /** Resolves with the first message (already received or to come) that matches; rejects when the stream ends first. */
  next(match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens a 2026-07-28 `subscriptions/listen` stream and reads its SSE messages as they arrive. */
export async function modernListen(
  url: string,
  notifications: Record<string, unknown>,
  options: { key: string; id?: number | string },
): Promise<ModernListen> {
  const id = options.id ?? nextId++;
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'subscriptions/listen',
      authorization: `Bearer ${options.key}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'subscriptions/listen',
      params: {
        notifications,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/clientInfo': { name: 'modern-test', version: '1.0.0' },
        },
      },
    }),
  });
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const ended = (async () => {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5))
            .join('\n');
          if (data !== '') messages.push(JSON.parse(data) as Record<string, unknown>);
        }
        wake();
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      wake();
    }
  })();
  return {
    status: response.status,
    messages,
    ended,
    next(match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (found !== undefined) {
            waiters.delete(check);
            resolve(found);
          } else if (done) {
            waiters.delete(check);
            reject(new Error(`the listen stream ended without it; got ${JSON.stringify(messages)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
