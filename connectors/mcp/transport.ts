/**
 * Building the transport for a connector's config. The stdio child gets a minimal environment (the
 * SDK's safe inherited variables plus the configured ones), never the gateway's whole environment, which
 * holds the gateway's own secrets, and its output is framed by the connector's own reader (size cap). The
 * HTTP transport sends every request through the connector's limited fetch (deadline, size cap, per-call
 * scope) over the fetch it is given (the gateway's egress-guarded fetch), so egress policy applies to
 * upstream MCP traffic too.
 */
import { StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { FetchLike } from '../contract.js';
import type { McpConnectorConfig, McpStdioConfig } from './config.js';
import { createLimitedFetch } from './limited-fetch.js';
import type { EarlyStdioChild, StdioSpawnOptions } from './stdio-child.js';
import { LimitedStdioTransport } from './stdio-transport.js';

export type UpstreamTransport = Transport & { terminateSession?: () => Promise<void> };

/** The environment a stdio child starts with. */
export function childEnvironment(config: Pick<McpStdioConfig, 'env'>): Record<string, string> {
  return { ...getDefaultEnvironment(), ...config.env };
}

/** How a stdio connector's child is spawned: by its transport, or ahead of it (stdio-child.ts). */
export function stdioSpawnOptions(config: McpStdioConfig): StdioSpawnOptions {
  return {
    command: config.command,
    args: config.args,
    env: childEnvironment(config),
    ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
  };
}

export interface UpstreamLimits {
  /** Deadline of one request/response exchange. */
  timeoutMs: number;
  /** Cap on one message from the upstream, in bytes. */
  maxMessageBytes: number;
}

export function createUpstreamTransport(
  config: McpConnectorConfig,
  fetch: FetchLike | undefined,
  limits: UpstreamLimits,
  /** A stdio child started ahead of this connection, to adopt if it fits. */
  early?: EarlyStdioChild,
): UpstreamTransport {
  if (config.transport === 'stdio') {
    return new LimitedStdioTransport({
      ...stdioSpawnOptions(config),
      maxMessageBytes: limits.maxMessageBytes,
      ...(early !== undefined ? { early } : {}),
    });
  }
  void early?.close();
  return new StreamableHTTPClientTransport(new URL(config.url), {
    fetch: createLimitedFetch({ base: fetch, ...limits }),
    requestInit: { headers: { ...config.headers } },
  });
}
