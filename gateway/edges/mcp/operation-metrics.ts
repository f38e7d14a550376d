/**
 * `mcp.server.operation.duration` for every request an agent sends on a session (initialize, listings,
 * tools/call, resources, prompts, completion, ping, ...): timed at the transport from the request's
 * arrival to the moment its response or error is sent, so listings and protocol requests are counted as
 * well as the calls the pipeline decides. `error.type` is the stable code the gateway answered with (a
 * tool result's `portcullis/code`, else `tool_error` for a tool result with `isError`; a JSON-RPC error's
 * `data.code`, else its numeric code). Notifications have no response and are not timed.
 */
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import type { McpMetricAttributes } from '../../services/metrics/index.js';
import type { McpConnection } from '../../pipeline/index.js';

export interface McpOperationMetrics {
  observeMcpOperation(attributes: McpMetricAttributes, seconds: number): void;
}

/** Requests in flight per session; beyond this the oldest are dropped (never answered, e.g. cancelled). */
const MAX_IN_FLIGHT = 10_000;

interface InFlight {
  method: string;
  tool?: string;
  prompt?: string;
  started: number;
}

/** The connection part of the MCP metric attributes (operations and sessions). */
export function connectionMetricAttributes(connection: McpConnection | undefined): McpMetricAttributes {
  if (connection === undefined) return {};
  return {
    networkTransport: connection.transport,
    ...(connection.protocolName !== undefined ? { networkProtocolName: connection.protocolName } : {}),
    ...(connection.protocolVersion !== undefined ? { protocolVersion: connection.protocolVersion } : {}),
  };
}

/**
 * Times the session's requests. Must be called before the server connects to the transport: the SDK's
 * `connect` chains an `onmessage` that is already set, and calls `send` on the instance.
 */
export function timeOperations(transport: Transport, connection: McpConnection, metrics: McpOperationMetrics): void {
  const inFlight = new Map<string | number, InFlight>();
  const before = transport.onmessage;
  transport.onmessage = (message, extra) => {
    before?.(message, extra);
    if (!('method' in message)) return;
    if ('id' in message && message.id !== undefined) {
      if (inFlight.size >= MAX_IN_FLIGHT) inFlight.delete(inFlight.keys().next().value!);
      const params = (message.params ?? {}) as { name?: unknown };
      const name = typeof params.name === 'string' ? params.name : undefined;
      inFlight.set(message.id, {
        method: message.method,
        ...(message.method === 'tools/call' && name !== undefined ? { tool: name } : {}),
        ...(message.method === 'prompts/get' && name !== undefined ? { prompt: name } : {}),
        started: performance.now(),
      });
    } else if (message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof requestId === 'string' || typeof requestId === 'number') inFlight.delete(requestId);
    }
  };
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    observe(message);
    return send(message, options);
  };

  function observe(message: JSONRPCMessage): void {
    if ('method' in message || !('id' in message) || message.id === undefined) return;
    const request = inFlight.get(message.id);
    if (request === undefined) return;
    inFlight.delete(message.id);
    const errorType = errorTypeOf(message);
    metrics.observeMcpOperation(
      {
        method: request.method,
        ...(request.tool !== undefined ? { tool: request.tool } : {}),
        ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
        ...(errorType !== undefined ? { errorType } : {}),
        ...connectionMetricAttributes(connection),
      },
      (performance.now() - request.started) / 1000,
    );
  }
}

function errorTypeOf(message: JSONRPCMessage): string | undefined {
  if ('error' in message) {
    const data = message.error.data as { code?: unknown } | undefined;
    return typeof data?.code === 'string' ? data.code : String(message.error.code);
  }
  if ('result' in message) {
    const result = message.result as { isError?: unknown; _meta?: Record<string, unknown> };
    if (result.isError !== true) return undefined;
    const code = result._meta?.['portcullis/code'];
    return typeof code === 'string' ? code : 'tool_error';
  }
  return undefined;
}
