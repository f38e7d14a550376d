/**
 * API-key agents and operator tokens from the configuration, as digests: a key given as a secret
 * reference is read once and only its digest is kept.
 */
import type { Environment, GatewayConfig } from '../../config/index.js';
import { resolveSecretRef } from '../../config/index.js';
import { digestApiKey, type ApiKeyAgent } from './api-key-authenticator.js';

type KeyRefs = GatewayConfig['agents'][number]['apiKeys'];

export async function keyDigests(keys: KeyRefs, options: { env: Environment; baseDir: string }): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys)
    out.push('sha256' in key ? key.sha256 : digestApiKey((await resolveSecretRef(key.secret, options)).reveal()));
  return out;
}

/** Enabled agents with their key digests (disabled agents cannot authenticate at all). */
export async function apiKeyAgentsFrom(
  config: GatewayConfig,
  options: { env: Environment; baseDir: string },
): Promise<ApiKeyAgent[]> {
  const agents: ApiKeyAgent[] = [];
  for (const agent of config.agents) {
    if (agent.disabled) continue;
    agents.push({
      agentId: agent.id,
      roles: agent.roles,
      ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
      ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
      keyDigests: await keyDigests(agent.apiKeys, options),
    });
  }
  return agents;
}

/** Operators with their token digests. */
export async function operatorsFrom(
  config: GatewayConfig,
  options: { env: Environment; baseDir: string },
): Promise<{ id: string; roles: GatewayConfig['operators'][number]['roles']; tokenDigests: string[] }[]> {
  return Promise.all(
    config.operators.map(async (operator) => ({
      id: operator.id,
      roles: operator.roles,
      tokenDigests: await keyDigests(operator.tokens, options),
    })),
  );
}
