/**
 * What `portcullis config validate` checks beyond the config schema: every http connector is built as the
 * gateway would build it, so a missing or unreadable OpenAPI document, a document that is not OpenAPI 3.x,
 * a tool whose schema does not compile or a name clash fails validation, and every OpenAPI operation or
 * parameter that was skipped is reported with its reason. Nothing is contacted: http connectors send
 * nothing until called, and MCP connectors (whose tools come from the upstream) are not started.
 */
import { createHttpConnector } from '../../../connectors/http/index.js';
import type { CatalogContext } from '../../../connectors/contract.js';
import type { GatewayConfig } from '../../config/index.js';

export interface ConnectorCheck {
  id: string;
  /** Tools the connector offers (declared plus imported); undefined when it could not be built. */
  tools?: number;
  /** Skipped operations and left-out parameters, one line each. */
  warnings: readonly string[];
  /** Why the connector cannot be built (the gateway would refuse to start). */
  error?: string;
}

const refuseFetch: CatalogContext['fetch'] = () => Promise.reject(new Error('config validate contacts no backend'));

export async function checkConnectors(config: GatewayConfig, baseDir: string): Promise<ConnectorCheck[]> {
  const checks: ConnectorCheck[] = [];
  for (const connectorConfig of config.connectors) {
    if (connectorConfig.kind !== 'http') continue;
    try {
      const connector = await createHttpConnector(connectorConfig, { baseDir });
      // An http connector's tools are fixed at creation; a fetch that refuses proves nothing is sent.
      const tools = await connector.listTools({ signal: AbortSignal.timeout(10_000), fetch: refuseFetch });
      checks.push({ id: connectorConfig.id, tools: tools.length, warnings: connector.warnings });
      await connector.close();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'INVALID_CONNECTOR_CONFIG') throw error;
      const message = (error as Error).message;
      const prefix = `connector ${connectorConfig.id}: `;
      checks.push({
        id: connectorConfig.id,
        warnings: [],
        error: message.startsWith(prefix) ? message : `${prefix}${message}`,
      });
    }
  }
  return checks;
}
