/**
 * What a principal may see of the catalog. Listings and notifications are filtered by the same rules that
 * decide calls, so a hidden item looks exactly like an unknown one.
 */
import type {
  Connector,
  PromptDescriptor,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
} from '../../connectors/contract.js';
import type { Principal } from '../kernel/index.js';
import type { Catalog } from '../services/catalog/index.js';
import { isVisible, type PolicySource } from './decide.js';

export interface Visibility {
  resources(principal: Principal): ResourceDescriptor[];
  resourceTemplates(principal: Principal): ResourceTemplateDescriptor[];
  prompts(principal: Principal): PromptDescriptor[];
  /** May this principal hear about this resource (`notifications/resources/updated`)? */
  resourceVisible(principal: Principal, uri: string): boolean;
  /** May this principal use this connector's resources and prompts at all? */
  connectorVisible(principal: Principal, connector: Connector): boolean;
}

export function createVisibility(catalog: Catalog, policy: PolicySource): Visibility {
  // Resources and prompts of a connector are visible to a principal that may see at least one of that
  // connector's tools: an agent the policy keeps away from a backend sees nothing of it.
  const connectorVisible = (principal: Principal, connector: Connector): boolean =>
    catalog.tools().some((tool) => tool.connector === connector && isVisible(policy, principal, tool));
  return {
    resources: (principal) =>
      catalog
        .resources()
        .filter((r) => connectorVisible(principal, r.connector))
        .map((r) => r.descriptor),
    resourceTemplates: (principal) =>
      catalog
        .templates()
        .filter((t) => connectorVisible(principal, t.connector))
        .map((t) => t.descriptor),
    prompts: (principal) =>
      catalog
        .prompts()
        .filter((p) => connectorVisible(principal, p.connector))
        .map((p) => ({ ...p.descriptor, name: p.exposedName })),
    resourceVisible(principal, uri) {
      const connector = catalog.resolveResource(uri);
      return connector !== undefined && connectorVisible(principal, connector);
    },
    connectorVisible,
  };
}
