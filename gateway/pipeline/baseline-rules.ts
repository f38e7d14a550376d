/**
 * Rules the configuration implies, compiled together with the policy files:
 * - each agent's `tools` globs become one allow rule for that agent (its baseline), and its `resources`
 *   and `prompts` globs one each;
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
  resources?: string[];
  prompts?: string[];
  connector?: string;
  egress?: { hosts: string[]; ports: number[]; schemes: string[]; cidrs?: string[] };
}

export function baselineRules(config: GatewayConfig): BaselineRule[] {
  const rules: BaselineRule[] = [];
  for (const agent of config.agents) {
    if (agent.disabled) continue;
    const principal = { agents: [agent.id] };
    if (agent.tools.length > 0) {
      rules.push({
        id: `agent:${agent.id}:baseline`,
        effect: 'allow',
        description: `baseline tool allowlist of agent ${agent.id} (from the gateway configuration)`,
        principal,
        tools: [...agent.tools],
      });
    }
    if (agent.resources.length > 0) {
      rules.push({
        id: `agent:${agent.id}:resources`,
        effect: 'allow',
        description: `baseline resource allowlist of agent ${agent.id} (from the gateway configuration)`,
        principal,
        resources: [...agent.resources],
      });
    }
    if (agent.prompts.length > 0) {
      rules.push({
        id: `agent:${agent.id}:prompts`,
        effect: 'allow',
        description: `baseline prompt allowlist of agent ${agent.id} (from the gateway configuration)`,
        principal,
        prompts: [...agent.prompts],
      });
    }
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
