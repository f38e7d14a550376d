/**
 * The connectors the configuration names. HTTP connectors are built from their tool definitions; MCP
 * connectors share one long-lived connection per upstream for all agents (each call's credential comes
 * from its async context) and start in the background: one that cannot start keeps retrying while the
 * gateway serves the rest.
 */
import type { Connector, FetchLike, LogMessage } from '../../../connectors/contract.js';
import { createHttpConnector } from '../../../connectors/http/index.js';
import { createMcpConnector } from '../../../connectors/mcp/index.js';
import type { GatewayConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/index.js';
import { connectorConfigIn } from './connector-config.js';
import type { EarlyUpstreams } from './early-upstreams.js';

export interface OpenConnectorsOptions {
  baseDir: string;
  logger: Logger;
  /** The fetch an upstream MCP server over HTTP is reached with (egress guard, hygiene, credential). */
  upstreamFetch: (connectorId: string) => FetchLike;
  onResourceUpdated: (uri: string) => void;
  /** What an upstream MCP server logs outside any call (connector-level log messages). */
  onConnectorLog?: (connectorId: string, message: LogMessage) => void;
  /** Largest single message accepted from an upstream MCP server (`egress.maxResponseBytes`). */
  maxMessageBytes?: number;
  /** Stdio upstreams already started (early-upstreams.ts): each connector's first connection adopts its own. */
  earlyUpstreams?: EarlyUpstreams;
}

/** Opens every configured connector; on failure, closes those already opened. */
export async function openConnectors(
  configs: GatewayConfig['connectors'],
  options: OpenConnectorsOptions,
): Promise<Connector[]> {
  const connectors: Connector[] = [];
  try {
    for (const config of configs) {
      if (config.kind === 'http') {
        connectors.push(
          await createHttpConnector(config, {
            baseDir: options.baseDir,
            onWarning: (message) => options.logger.warn({ connector: config.id }, message),
          }),
        );
        continue;
      }
      const earlyChild = options.earlyUpstreams?.take(config.id);
      const connector = createMcpConnector(connectorConfigIn(config, options.baseDir), {
        fetch: options.upstreamFetch(config.id),
        // The connector's own warnings (what the upstream logs goes to calls or to onConnectorLog).
        onLog: (message: LogMessage) =>
          options.logger.warn({ connector: config.id, detail: message.data }, 'MCP connector warning'),
        onResourceUpdated: options.onResourceUpdated,
        onUpstreamLog: (message: LogMessage) =>
          options.onConnectorLog !== undefined
            ? options.onConnectorLog(config.id, message)
            : options.logger.debug({ connector: config.id, level: message.level }, 'upstream log message'),
        ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
        ...(earlyChild !== undefined ? { earlyChild } : {}),
      });
      connectors.push(connector);
      await connector
        .start()
        .catch((error: unknown) =>
          options.logger.warn(
            { connector: config.id, err: error instanceof Error ? error.message : String(error) },
            'upstream MCP server not ready',
          ),
        );
    }
  } catch (error) {
    await Promise.all(connectors.map((c) => c.close().catch(() => undefined)));
    throw error;
  }
  return connectors;
}
