/**
 * What a principal may see of the catalog. Listings and notifications are filtered by the same rules that
 * decide calls, so a hidden item looks exactly like an unknown one: tools by the call rules, resources,
 * templates and prompts by the rules with `resources` and `prompts` (an item is listed unless denied).
 */
import type { PromptDescriptor, ResourceDescriptor, ResourceTemplateDescriptor } from '../../connectors/contract.js';
import { canonicalResourceUri } from '../../policies/index.js';
import type { Principal } from '../kernel/index.js';
import type { Catalog } from '../services/catalog/index.js';
import { isItemVisible, type PolicySource } from './decide.js';

export interface Visibility {
  resources(principal: Principal): ResourceDescriptor[];
  resourceTemplates(principal: Principal): ResourceTemplateDescriptor[];
  prompts(principal: Principal): PromptDescriptor[];
  /** May this principal hear about this resource (`notifications/resources/updated`)? */
  resourceVisible(principal: Principal, uri: string): boolean;
  /** Does this principal see any resource, template or prompt of this connector? */
  connectorVisible(principal: Principal, connectorId: string): boolean;
}

export function createVisibility(catalog: Catalog, policy: PolicySource): Visibility {
  const resourceVisible = (principal: Principal, uri: string, connector: string): boolean => {
    const canonical = canonicalResourceUri(uri);
    return (
      canonical !== undefined && isItemVisible(policy, principal, { kind: 'resource', name: canonical, connector })
    );
  };
  const prompts = (principal: Principal) =>
    catalog
      .prompts()
      .filter((p) =>
        isItemVisible(policy, principal, { kind: 'prompt', name: p.exposedName, connector: p.connector.id }),
      );
  return {
    resources: (principal) =>
      catalog
        .resources()
        .filter((r) => resourceVisible(principal, r.descriptor.uri, r.connector.id))
        .map((r) => r.descriptor),
    resourceTemplates: (principal) =>
      catalog
        .templates()
        .filter((t) => resourceVisible(principal, t.descriptor.uriTemplate, t.connector.id))
        .map((t) => t.descriptor),
    prompts: (principal) => prompts(principal).map((p) => ({ ...p.descriptor, name: p.exposedName })),
    resourceVisible(principal, uri) {
      const canonical = canonicalResourceUri(uri);
      const connector = canonical !== undefined ? catalog.resolveResource(canonical) : undefined;
      return connector !== undefined && canonical !== undefined && resourceVisible(principal, canonical, connector.id);
    },
    connectorVisible: (principal, connectorId) =>
      catalog
        .resources()
        .some((r) => r.connector.id === connectorId && resourceVisible(principal, r.descriptor.uri, connectorId)) ||
      catalog
        .templates()
        .some(
          (t) => t.connector.id === connectorId && resourceVisible(principal, t.descriptor.uriTemplate, connectorId),
        ) ||
      prompts(principal).some((p) => p.connector.id === connectorId),
  };
}
