/**
 * A light MCP client for the benchmark: JSON-RPC over Streamable HTTP with undici, no SDK, so the numbers
 * show what the server side costs rather than what a client library does.
 *
 * Two protocol eras, chosen per run:
 * - `legacy` (2025 revisions): `initialize`, then `notifications/initialized`, then calls carrying the
 *   `Mcp-Session-Id` the server issued and the negotiated `MCP-Protocol-Version`.
 * - `modern` (2026-07-28, stateless): no initialize and no session; each request carries the protocol
 *   version in `params._meta` (beside its client info and capabilities) and in the `MCP-Protocol-Version`
 *   header, and names its method and target in `Mcp-Method` / `Mcp-Name`; a task handle the server returns
 *   in a result's `_meta` is echoed on the session's later calls. A server that does not speak it answers
 *   the first call with an error, which the driver reports as "unsupported" (see `UnsupportedEraError`,
 *   eras.ts).
 *
 * Responses may be JSON (`application/json`) or a short SSE stream (`text/event-stream`): both are read to
 * the end and the JSON-RPC response with the request's id is taken from them.
 */
import { Pool } from 'undici';
import { MODERN_PROTOCOL_VERSION, TASK_HANDLE_META_KEY, UnsupportedEraError, type EraMode } from './eras.js';

export const LEGACY_PROTOCOL_VERSION = '2025-06-18';
/** Where a 2026-07-28 request carries its protocol version inside the message. */
export const MODERN_META_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export class RawProtocolError extends Error {
  readonly code: string = 'RAW_PROTOCOL_ERROR';
  override readonly name: string = 'RawProtocolError';
}

/** The JSON-RPC messages of an SSE body: every `data:` field of every event, parsed. */
export function parseSseMessages(body: string): unknown[] {
  const messages: unknown[] = [];
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data: string[] = [];
    for (const line of event.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5));
    }
    if (data.length === 0) continue;
    try {
      messages.push(JSON.parse(data.join('\n')));
    } catch {
      // Not JSON (a comment or a keep-alive): not a message.
    }
  }
  return messages;
}

/** The JSON-RPC response with `id` in a response body of either content type; undefined when absent. */
export function findResponse(contentType: string, body: string, id: number): JsonRpcResponse | undefined {
  let messages: unknown[];
  if (contentType.startsWith('text/event-stream')) messages = parseSseMessages(body);
  else {
    try {
      const parsed: unknown = JSON.parse(body);
      messages = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      return undefined;
    }
  }
  for (const message of messages) {
    if (typeof message === 'object' && message !== null && (message as { id?: unknown }).id === id)
      return message as JsonRpcResponse;
  }
  return undefined;
}

/** What a tools/call result says, as the benchmark checks it: undefined when it is the expected echo. */
export function checkEcho(response: JsonRpcResponse | undefined, expectText: string): string | undefined {
  if (response === undefined) return 'no response with the request id';
  if (response.error !== undefined) return `JSON-RPC error ${response.error.code}: ${response.error.message}`;
  const result = response.result as { isError?: boolean; content?: { type: string; text?: string }[] } | undefined;
  const first = result?.content?.[0];
  if (result?.isError === true) return `tool error: ${first?.text ?? 'no message'}`;
  if (first?.type !== 'text' || first.text !== expectText) return 'unexpected result';
  return undefined;
}

export interface RawEndpoint {
  url: string;
  headers?: Record<string, string>;
}

/** One undici pool per endpoint, one connection per session (as separate agents would have). */
export function createRawPool(url: string, connections: number): Pool {
  return new Pool(new URL(url).origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
}

export interface RawSession {
  /**
   * Call a tool; resolves to an error message, or undefined when the result is the expected echo. `meta`
   * adds members to the request's `params._meta` (a trace context, say).
   */
  callTool(
    tool: string,
    args: Record<string, unknown>,
    expectText: string,
    meta?: Record<string, unknown>,
  ): Promise<string | undefined>;
  close(): Promise<void>;
}

interface Posted {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  body: string;
}

async function post(pool: Pool, path: string, headers: Record<string, string>, message: unknown): Promise<Posted> {
  const response = await pool.request({
    path,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(message),
  });
  const body = await response.body.text();
  const contentType = response.headers['content-type'];
  return {
    status: response.statusCode,
    headers: response.headers,
    contentType: typeof contentType === 'string' ? contentType : '',
    body,
  };
}

function header(posted: Posted, name: string): string | undefined {
  const value = posted.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Open a session (legacy: initialize + initialized; modern: nothing to open). */
export async function openRawSession(
  pool: Pool,
  endpoint: RawEndpoint,
  mode: EraMode,
  name: string,
): Promise<RawSession> {
  const path = new URL(endpoint.url).pathname;
  const base = endpoint.headers ?? {};
  let nextId = 1;

  if (mode === 'modern') {
    const headers = { ...base, 'mcp-protocol-version': MODERN_PROTOCOL_VERSION };
    // A task handle the server returned is echoed on the following calls (one piece of work, one task).
    let taskHandle: string | undefined;
    return {
      async callTool(tool, args, expectText, meta) {
        const id = nextId++;
        const posted = await post(
          pool,
          path,
          { ...headers, 'mcp-method': 'tools/call', 'mcp-name': tool },
          {
            jsonrpc: '2.0',
            id,
            method: 'tools/call',
            params: {
              name: tool,
              arguments: args,
              _meta: {
                [MODERN_META_VERSION_KEY]: MODERN_PROTOCOL_VERSION,
                'io.modelcontextprotocol/clientCapabilities': {},
                'io.modelcontextprotocol/clientInfo': { name, version: '1.0.0' },
                ...(taskHandle !== undefined ? { [TASK_HANDLE_META_KEY]: taskHandle } : {}),
                ...meta,
              },
            },
          },
        );
        if (posted.status >= 400)
          throw new UnsupportedEraError(
            `HTTP ${posted.status} to a ${MODERN_PROTOCOL_VERSION} request: ${posted.body.slice(0, 200)}`,
          );
        const response = findResponse(posted.contentType, posted.body, id);
        if (response?.error !== undefined && id === 1)
          throw new UnsupportedEraError(`${MODERN_PROTOCOL_VERSION} request refused: ${response.error.message}`);
        const handle = (response?.result as { _meta?: Record<string, unknown> } | undefined)?._meta?.[
          TASK_HANDLE_META_KEY
        ];
        if (typeof handle === 'string') taskHandle = handle;
        return checkEcho(response, expectText);
      },
      close: () => Promise.resolve(),
    };
  }

  const init = await post(pool, path, base, {
    jsonrpc: '2.0',
    id: nextId++,
    method: 'initialize',
    params: { protocolVersion: LEGACY_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name, version: '1.0.0' } },
  });
  if (init.status !== 200) throw new RawProtocolError(`initialize answered HTTP ${init.status}: ${init.body}`);
  const initResponse = findResponse(init.contentType, init.body, 1);
  const negotiated = (initResponse?.result as { protocolVersion?: string } | undefined)?.protocolVersion;
  if (negotiated === undefined) throw new RawProtocolError(`initialize failed: ${init.body.slice(0, 200)}`);
  const sessionId = header(init, 'mcp-session-id');
  const headers: Record<string, string> = {
    ...base,
    'mcp-protocol-version': negotiated,
    ...(sessionId !== undefined ? { 'mcp-session-id': sessionId } : {}),
  };
  const initialized = await post(pool, path, headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
  if (initialized.status !== 202 && initialized.status !== 200)
    throw new RawProtocolError(`notifications/initialized answered HTTP ${initialized.status}`);

  return {
    async callTool(tool, args, expectText, meta) {
      const id = nextId++;
      const posted = await post(pool, path, headers, {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: tool, arguments: args, ...(meta !== undefined ? { _meta: meta } : {}) },
      });
      if (posted.status !== 200) return `HTTP ${posted.status}`;
      return checkEcho(findResponse(posted.contentType, posted.body, id), expectText);
    },
    async close() {
      if (sessionId === undefined) return;
      // End the session as a client does (DELETE); a server may refuse (405), which is fine.
      const response = await pool.request({ path, method: 'DELETE', headers: headers }).catch(() => undefined);
      await response?.body.dump().catch(() => undefined);
    },
  };
}
