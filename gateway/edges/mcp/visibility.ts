import type { Connector } from '../../../connectors/contract.js';
import type { Principal } from '../../kernel/index.js';
import type { Pipeline } from '../../pipeline/index.js';

/**
 * Resources and prompts of a connector are visible to a principal that may see at least one of that
 * connector's tools: an agent the policy keeps away from a backend sees nothing of it.
 */
export function isVisibleConnector(pipeline: Pipeline, principal: Principal, connector: Connector): boolean {
  const prefix = `${connector.id}_`;
  return pipeline.listTools(principal).some((tool) => tool.name.startsWith(prefix));
}
