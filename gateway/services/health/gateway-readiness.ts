/**
 * Readiness of this gateway, read from the parts it runs (see readiness.ts for what fails it), and failing
 * from the start of a drain, before anything is closed.
 */
import type { Connector } from '../../../connectors/contract.js';
import type { GatewayConfig } from '../../config/index.js';
import type { AuditSink } from '../audit/index.js';
import type { PolicyStore } from '../policy/index.js';
import { connectorHealth } from './connector-health.js';
import { checkReadiness, type ComponentHealth, type ReadinessReport } from './readiness.js';

export function gatewayReadiness(
  config: Pick<GatewayConfig, 'connectors'>,
  parts: {
    audit: Pick<AuditSink, 'status'>;
    store: { status(): ComponentHealth };
    policy: Pick<PolicyStore, 'status'>;
    connectors: readonly Connector[];
    drain: { readonly draining: boolean };
  },
): () => ReadinessReport {
  return () =>
    checkReadiness({
      audit: () => parts.audit.status?.() ?? { available: true },
      store: () => parts.store.status(),
      policy: () => {
        const status = parts.policy.status();
        // The policy store does not start without a policy, and keeps the last good one on a bad reload.
        const lastError = status.lastError !== undefined ? { lastError: status.lastError.message } : {};
        return { loaded: true, version: status.version, ...lastError };
      },
      connectors: () =>
        parts.connectors.map((connector, i) => ({
          id: connector.id,
          required: config.connectors[i]?.required === true,
          health: () => connectorHealth(connector),
        })),
      draining: () => parts.drain.draining,
    });
}
