/**
 * The MCP protocol version of a Streamable HTTP session. It is fixed by `initialize` (the version the client
 * asked for when the gateway supports it, the latest otherwise, as the SDK answers) and everything that
 * depends on the version is decided from it, never from a later request's `MCP-Protocol-Version` header:
 * a header that names another version is refused, so a client cannot pick older rules per request.
 */
import type { Transport } from '@modelcontextprotocol/server';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';

/** First revision without JSON-RPC batching. */
const BATCHES_REMOVED_IN = '2025-06-18';

/** The version `initialize` settles on for a requested version (same rule as the SDK's server). */
export function negotiatedVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}

/**
 * Why a request's `MCP-Protocol-Version` header cannot be taken on a session of `sessionVersion`, or
 * undefined when it can. An absent header is the session's version (clients of 2025-03-26 send none).
 */
export function versionHeaderConflict(header: string | undefined, sessionVersion: string): string | undefined {
  if (header === undefined || header === sessionVersion) return undefined;
  return `Bad Request: MCP-Protocol-Version ${JSON.stringify(header).slice(0, 40)} does not match the session's negotiated version ${sessionVersion}`;
}

/**
 * JSON-RPC batching was removed from MCP in 2025-06-18: a batch is only taken on a session that negotiated
 * an older version, and `initialize` is never taken in a batch (it must be the only message).
 */
export function batchAllowed(batch: readonly unknown[], sessionVersion: string | undefined): boolean {
  if (batch.length === 0 || sessionVersion === undefined) return false;
  return sessionVersion < BATCHES_REMOVED_IN;
}

/**
 * Calls `onVersion` with the negotiated version when the client's `initialize` request arrives, for
 * `mcp.protocol.version` on spans and metrics (stdio sessions learn their version only this way). Must be
 * called before the server connects to the transport: the SDK's `connect` chains an `onmessage` that is
 * already set, so the request still reaches the server unchanged.
 */
export function watchProtocolVersion(transport: Transport, onVersion: (version: string) => void): void {
  const before = transport.onmessage;
  transport.onmessage = (message, extra) => {
    before?.(message, extra);
    if ('method' in message && message.method === 'initialize' && 'id' in message) {
      const params = message.params as { protocolVersion?: unknown } | undefined;
      onVersion(negotiatedVersion(params?.protocolVersion));
    }
  };
}
