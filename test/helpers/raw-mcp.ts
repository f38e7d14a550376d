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
