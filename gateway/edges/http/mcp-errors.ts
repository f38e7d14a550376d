/**
 * What the MCP endpoint answers when a request fails before or outside the JSON-RPC handlers (a body that
 * is too large, not JSON or does not parse, a fault): a JSON-RPC error, never the HTTP API's error shape.
 * A fault (5xx) goes to `onError` for the logs; its answer says nothing of what failed.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from './send-json.js';

export function sendMcpError(res: ServerResponse, error: unknown, onError?: (error: unknown) => void): void {
  const status =
    typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
  if (status >= 500) onError?.(error);
  if (res.headersSent) return;
  const type = (error as { type?: unknown }).type;
  if (status === 413) sendJson(res, 413, rpcError(-32600, 'Request body too large'));
  else if (status === 415) sendJson(res, 415, rpcError(-32600, 'Unsupported Media Type: expected application/json'));
  else if (type === 'entity.parse.failed') sendJson(res, 400, rpcError(-32700, 'Parse error'));
  else if (status < 500) sendJson(res, status, rpcError(-32600, 'Invalid request'));
  else sendJson(res, 500, rpcError(-32603, 'Internal error'));
}

function rpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}
