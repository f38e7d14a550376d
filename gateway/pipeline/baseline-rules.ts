/**
 * Rules the configuration implies, compiled together with the policy files:
 * - each agent's `tools` globs become one allow rule for that agent (its baseline);
 * - each connector may reach its own backend (scheme, host and port of its base URL), and the private
 *   ranges named in `egress.allowPrivate` only for those hosts.
 * Everything else stays default-deny.
 */
import type { GatewayConfig } from '../config/index.js';

export interface BaselineRule {
  id: string;
  effect: 'allow';
  description: string;
  principal?: { agents: string[] };
  tools?: string[];
  connector?: string;
  egress?: { hosts: string[]; ports: number[]; schemes: string[]; cidrs?: string[] };
}

export function baselineRules(config: GatewayConfig): BaselineRule[] {
  const rules: BaselineRule[] = [];
  for (const agent of config.agents) {
    if (agent.disabled || agent.tools.length === 0) continue;
    rules.push({
      id: `agent:${agent.id}:baseline`,
      effect: 'allow',
      description: `baseline tool allowlist of agent ${agent.id} (from the gateway configuration)`,
      principal: { agents: [agent.id] },
      tools: [...agent.tools],
    });
  }
  for (const connector of config.connectors) {
    const target =
      connector.kind === 'http' ? connector.baseUrl : connector.transport === 'http' ? connector.url : undefined;
    if (target === undefined) continue;
    const url = new URL(target);
    const scheme = url.protocol.slice(0, -1);
    rules.push({
      id: `connector:${connector.id}:egress`,
      effect: 'allow',
      description: `connector ${connector.id} may reach its own backend ${url.host}`,
      connector: connector.id,
      egress: {
        hosts: [url.hostname.replace(/^\[|\]$/g, '').toLowerCase()],
        ports: [url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port)],
        schemes: [scheme],
        ...(config.egress.allowPrivate.length > 0 ? { cidrs: [...config.egress.allowPrivate] } : {}),
      },
    });
  }
  return rules;
}
