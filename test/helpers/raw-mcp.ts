/**
 * MCP over raw HTTP, without an SDK client: for edge cases an SDK client would never send, and for tests
 * that read the exchange as it is on the wire. No gateway is loaded with it.
 */

/** Raw JSON-RPC POST to an MCP endpoint, accepting both answer forms as a Streamable HTTP client must. */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** An exchange read whole. */
export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** A raw JSON-RPC POST on a 2025 session, read whole. */
export async function postOnSession(
  url: string,
  session: { id: string; version: string },
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const response = await rawPost(url, body, {
    'mcp-session-id': session.id,
    'mcp-protocol-version': session.version,
    ...headers,
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A `tools/call` request with no arguments. */
export function toolCall(id: number | string, name: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } };
}

/** The messages of an event stream's body: the benchmark's raw driver's parser, one for the project. */
export { parseSseMessages } from '../../bench/lib/raw-client.js';

/** Sends `initialize` for `protocolVersion` and reads the answer; throws unless it is 200. */
export async function initializeAt(url: string, protocolVersion: string): Promise<void> {
  const response = await rawPost(url, { ...INITIALIZE, params: { ...INITIALIZE.params, protocolVersion } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`initialize answered ${response.status}: ${body.slice(0, 200)}`);
}
