/**
 * Stdio upstreams started ahead of the gateway: as soon as the configuration has loaded, every stdio MCP
 * connector's child is spawned (connectors/mcp/stdio-child.ts), so that its own start-up runs while the
 * gateway loads and opens everything else; the connector's first connection adopts it. Nothing is sent to
 * a child before that. Children no connector took (start-up failed before the catalog opened, or the
 * connector was not created) are stopped by `close()`, which start-up always calls once the catalog is
 * open or has failed.
 */
import { startEarlyStdioChild, stdioSpawnOptions, type EarlyStdioChild } from '../../../connectors/mcp/index.js';
import type { GatewayConfig } from '../../config/index.js';
import { connectorConfigIn } from './connector-config.js';

export interface EarlyUpstreams {
  /** The child started for this connector, handed over once. */
  take(connectorId: string): EarlyStdioChild | undefined;
  /** Stops every child not handed over. */
  close(): Promise<void>;
}

export function startStdioUpstreams(connectors: GatewayConfig['connectors'], baseDir: string): EarlyUpstreams {
  const early = new Map<string, EarlyStdioChild>();
  for (const connector of connectors) {
    if (connector.kind !== 'mcp' || connector.transport !== 'stdio' || early.has(connector.id)) continue;
    early.set(connector.id, startEarlyStdioChild(stdioSpawnOptions(connectorConfigIn(connector, baseDir))));
  }
  return {
    take(connectorId) {
      const child = early.get(connectorId);
      early.delete(connectorId);
      return child;
    },
    async close() {
      const left = [...early.values()];
      early.clear();
      await Promise.all(left.map((child) => child.close()));
    },
  };
}
