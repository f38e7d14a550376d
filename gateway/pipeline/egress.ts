/** How the pipeline reaches the network: every backend request goes through the egress guard. */
import type { CatalogContext, Connector, FetchLike } from '../../connectors/contract.js';
import type { TaskFacts } from '../../policies/types.js';
import type { Principal } from '../kernel/index.js';
import { withOutboundHygiene } from '../services/credentials/index.js';

/** Which network scope a backend request belongs to, for the egress guard. */
export interface EgressScope {
  connector: string;
  tool?: string;
  principal?: Principal;
  task?: TaskFacts;
}

export interface EgressProvider {
  fetchFor(scope: EgressScope): FetchLike;
}

/** The catalog context for one connector: listing traffic goes through the same egress guard. */
export function catalogContextFor(
  egress: EgressProvider,
  timeoutMs = 30_000,
): (connector: Connector) => CatalogContext {
  return (connector) => ({
    signal: AbortSignal.timeout(timeoutMs),
    fetch: withOutboundHygiene(egress.fetchFor({ connector: connector.id })),
  });
}
