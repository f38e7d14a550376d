/**
 * Rules the configuration implies, compiled together with the policy files:
 * - each agent's `tools` globs become one allow rule for that agent (its baseline), and its `resources`
 *   and `prompts` globs one each;
 * - each connector may reach its own backend (scheme, host and port of its base URL), and the non-public
 *   destinations named in its `egress.connectors.<id>.allowPrivate` (CIDRs or address classes), only there.
 * Everything else stays default-deny.
 */
import { compilePolicy, parsePolicyObject, type PolicyEngine } from '../../../policies/index.js';
import type { GatewayConfig } from '../../config/index.js';

export interface BaselineRule {
  id: string;
  effect: 'allow';
  description: string;
  principal?: { agents: string[] };
  tools?: string[];
  resources?: string[];
  prompts?: string[];
  connector?: string;
  egress?: { hosts: string[]; ports: number[]; schemes: string[]; cidrs?: string[]; classes?: string[] };
}

/** The egress scopes of the gateway's own requests; not valid connector ids, so they never collide with one. */
export const GATEWAY_DESTINATIONS = {
  approvalsWebhook: 'portcullis:approvals-webhook',
  oauthJwks: 'portcullis:oauth-jwks',
} as const;

/**
 * The rule set for the gateway's own outbound requests, kept apart from the policy: each configured URL may
 * be reached by its own scope only, plus the non-public destinations named for it. Nothing else is allowed.
 */
export function gatewayDestinationRules(config: GatewayConfig): BaselineRule[] {
  const rules: BaselineRule[] = [];
  const add = (key: keyof typeof GATEWAY_DESTINATIONS, target: string | undefined, what: string): void => {
    if (target === undefined) return;
    rules.push(
      reachRule(
        `gateway:${key}:egress`,
        `the gateway's ${what} may reach`,
        GATEWAY_DESTINATIONS[key],
        target,
        config.egress.gateway[key]?.allowPrivate ?? [],
      ),
    );
  };
  add('approvalsWebhook', config.approvals.webhookUrl, 'approvals webhook');
  add('oauthJwks', config.auth.oauth?.jwksUrl, 'OAuth JWKS fetch');
  return rules;
}

/** The engine that decides the gateway's own requests: only `gatewayDestinationRules`, never the policy. */
export function compileGatewayDestinations(config: GatewayConfig): PolicyEngine {
  return compilePolicy(
    [parsePolicyObject({ version: 1, name: 'gateway-destinations', rules: [] }, '(gateway destinations)')],
    { extraRules: gatewayDestinationRules(config), extraRulesSource: '(gateway configuration)' },
  );
}

function reachRule(
  id: string,
  what: string,
  connector: string,
  target: string,
  allowances: readonly string[],
): BaselineRule {
  const url = new URL(target);
  const scheme = url.protocol.slice(0, -1);
  const cidrs = allowances.filter((entry) => entry.includes('/'));
  const classes = allowances.filter((entry) => !entry.includes('/'));
  return {
    id,
    effect: 'allow',
    description: `${what} ${url.host}`,
    connector,
    egress: {
      hosts: [url.hostname.replace(/^\[|\]$/g, '').toLowerCase()],
      ports: [url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port)],
      schemes: [scheme],
      ...(cidrs.length > 0 ? { cidrs } : {}),
      ...(classes.length > 0 ? { classes } : {}),
    },
  };
}

export function baselineRules(config: GatewayConfig): BaselineRule[] {
  const rules: BaselineRule[] = [];
  // Each agent's allowlists from the configuration, one rule per kind of item (its baseline).
  const allowlists = [
    { key: 'tools', suffix: 'baseline', what: 'tool' },
    { key: 'resources', suffix: 'resources', what: 'resource' },
    { key: 'prompts', suffix: 'prompts', what: 'prompt' },
  ] as const;
  for (const agent of config.agents) {
    if (agent.disabled) continue;
    for (const { key, suffix, what } of allowlists) {
      if (agent[key].length === 0) continue;
      rules.push({
        id: `agent:${agent.id}:${suffix}`,
        effect: 'allow',
        description: `baseline ${what} allowlist of agent ${agent.id} (from the gateway configuration)`,
        principal: { agents: [agent.id] },
        [key]: [...agent[key]],
      });
    }
  }
  for (const connector of config.connectors) {
    const target =
      connector.kind === 'http' ? connector.baseUrl : connector.transport === 'http' ? connector.url : undefined;
    if (target === undefined) continue;
    rules.push(
      reachRule(
        `connector:${connector.id}:egress`,
        `connector ${connector.id} may reach its own backend`,
        connector.id,
        target,
        config.egress.connectors[connector.id]?.allowPrivate ?? [],
      ),
    );
  }
  return rules;
}
