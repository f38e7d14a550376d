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
}

let nextId = 1;

export function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return params['name'] as string;
  if (method === 'resources/read') return params['uri'] as string;
  if (method === 'tasks/get' || method === 'tasks/cancel' || method === 'tasks/update')
    return params['taskId'] as string;
  return undefined;
}

export async function modernPost(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  options: ModernPostOptions = {},
): Promise<ModernAnswer> {
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
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
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
