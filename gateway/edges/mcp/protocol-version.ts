/**
 * The protocol version a session negotiated, for `mcp.protocol.version` on spans and metrics. The SDK's
 * server answers `initialize` with the version the client asked for when it supports it, else its latest;
 * this mirrors that rule on the same constants, reading the client's request as it passes.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

export function negotiatedProtocolVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}

/**
 * Calls `onVersion` with the negotiated version when the client's `initialize` request arrives. Must be
 * called before the server connects to the transport: the SDK's `connect` chains an `onmessage` that is
 * already set, so the request still reaches the server unchanged.
 */
export function watchProtocolVersion(transport: Transport, onVersion: (version: string) => void): void {
  const before = transport.onmessage;
  transport.onmessage = (message, extra) => {
    before?.(message, extra);
    if ('method' in message && message.method === 'initialize' && 'id' in message) {
      const params = message.params as { protocolVersion?: unknown } | undefined;
      onVersion(negotiatedProtocolVersion(params?.protocolVersion));
    }
  };
}
