/**
 * Building the SDK transport for a connector's config. The stdio child gets a minimal environment (the
 * SDK's safe inherited variables plus the configured ones), never the gateway's whole environment, which
 * holds the gateway's own secrets. The HTTP transport sends every request through the fetch it is given
 * (the gateway's egress-guarded fetch), so egress policy applies to upstream MCP traffic too.
 */
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { FetchLike } from '../contract.js';
import type { McpConnectorConfig, McpStdioConfig } from './config.js';

export type UpstreamTransport = Transport & { terminateSession?: () => Promise<void> };

/** The environment a stdio child starts with. */
export function childEnvironment(config: Pick<McpStdioConfig, 'env'>): Record<string, string> {
  return { ...getDefaultEnvironment(), ...config.env };
}

export function createUpstreamTransport(config: McpConnectorConfig, fetch: FetchLike | undefined): UpstreamTransport {
  if (config.transport === 'stdio') {
    return new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: childEnvironment(config),
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      // The child's stderr is its own diagnostics channel; it goes to the gateway's stderr, never to agents.
      stderr: 'inherit',
    });
  }
  return new StreamableHTTPClientTransport(new URL(config.url), {
    ...(fetch === undefined ? {} : { fetch }),
    requestInit: { headers: { ...config.headers } },
  });
}
