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
  if (status === 413) sendJson(res, 413, jsonRpcError(-32600, 'Request body too large'));
  else if (status === 415)
    sendJson(res, 415, jsonRpcError(-32600, 'Unsupported Media Type: expected application/json'));
  else if (type === 'entity.parse.failed') sendJson(res, 400, jsonRpcError(-32700, 'Parse error'));
  else if (status < 500) sendJson(res, status, jsonRpcError(-32600, 'Invalid request'));
  else sendJson(res, 500, jsonRpcError(-32603, 'Internal error'));
}

/**
 * A JSON-RPC error that answers no request in particular (`id: null`), as the MCP endpoint refuses a request
 * it could not read or would not serve; `dataCode` is the gateway's stable error code, when there is one.
 */
export function jsonRpcError(code: number, message: string, dataCode?: string): object {
  return {
    jsonrpc: '2.0',
    error: { code, message, ...(dataCode !== undefined ? { data: { code: dataCode } } : {}) },
    id: null,
  };
}
