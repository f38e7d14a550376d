/**
 * API keys for agents. Only sha256 digests are held in memory: keys are random high-entropy strings
 * (`pc_` + 32 random bytes from `portcullis keys new`), so a plain digest is a safe verifier and lookup by
 * digest reveals nothing about other keys.
 */
import { hash, randomBytes } from 'node:crypto';
import type { Authenticator, Principal } from '../../kernel/index.js';

export interface ApiKeyAgent {
  agentId: string;
  roles: readonly string[];
  tenant?: string;
  environment?: string;
  /** Hex sha256 digests of the agent's keys. */
  keyDigests: readonly string[];
}

export function digestApiKey(key: string): string {
  // The one-shot form: no Hash object for a digest made on every authenticated request.
  return hash('sha256', key, 'hex');
}

/** A new random API key (shown once; store only its digest). */
export function generateApiKey(): string {
  return `pc_${randomBytes(32).toString('base64url')}`;
}

export function createApiKeyAuthenticator(agents: readonly ApiKeyAgent[]): Authenticator {
  const byDigest = new Map<string, Principal>();
  for (const agent of agents) {
    const principal: Principal = Object.freeze({
      agentId: agent.agentId,
      roles: Object.freeze([...agent.roles]),
      ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
      ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
      authMethod: 'api-key' as const,
    });
    for (const digest of agent.keyDigests) byDigest.set(digest, principal);
  }
  return {
    method: 'api-key',
    async authenticate(bearer) {
      return byDigest.get(digestApiKey(bearer));
    },
  };
}
