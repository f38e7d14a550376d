/**
 * The authenticator chain for agents, built from the configuration. Order matters: the gateway's own task
 * tokens first, then an external identity provider, then SPIFFE workload tokens, then API keys. A credential
 * one of them recognises is decided by it alone (an invalid token never falls through to a weaker method).
 */
import type { FetchLike } from '../../../connectors/contract.js';
import type { GatewayConfig } from '../../config/index.js';
import type { KeySet } from '../credentials/index.js';
import type { RevocationStore } from '../revocation/index.js';
import type { TaskStore } from '../tasks/index.js';
import { createApiKeyAuthenticator, type ApiKeyAgent } from './api-key-authenticator.js';
import { createOAuthAuthenticator } from './oauth-authenticator.js';
import { createSpiffeAuthenticator, loadTrustBundle } from './spiffe-authenticator.js';
import { createTaskTokenAuthenticator } from './token-authenticator.js';
import type { Authenticator } from '../../kernel/index.js';

export async function buildAuthenticators(input: {
  config: GatewayConfig;
  /** This gateway's MCP resource URL: the audience OAuth tokens must carry unless configured otherwise. */
  resource: string;
  issuer: string;
  keys: KeySet;
  revocation: RevocationStore;
  tasks: Pick<TaskStore, 'get'>;
  apiKeyAgents: readonly ApiKeyAgent[];
  /** The fetch the OAuth JWKS is read through (the gateway's egress); the global fetch when absent. */
  jwksFetch?: FetchLike;
}): Promise<Authenticator[]> {
  const { config } = input;
  const agentProfiles = new Map(config.agents.map((a) => [a.id, a]));
  const authenticators: Authenticator[] = [
    createTaskTokenAuthenticator({
      issuer: input.issuer,
      keys: input.keys,
      revocation: input.revocation,
      tasks: input.tasks,
      resolveAgent: (agentId) => {
        const agent = agentProfiles.get(agentId);
        return agent === undefined || agent.disabled
          ? undefined
          : {
              roles: agent.roles,
              ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
              ...(agent.environment !== undefined ? { environment: agent.environment } : {}),
            };
      },
    }),
  ];
  const oauth = config.auth.oauth;
  if (oauth !== undefined) {
    authenticators.push(
      createOAuthAuthenticator({
        issuer: oauth.issuer,
        jwksUrl: oauth.jwksUrl,
        ...(input.jwksFetch !== undefined ? { jwksFetch: input.jwksFetch } : {}),
        audience: oauth.audience ?? input.resource,
        algorithms: oauth.algorithms,
        ...(oauth.typ !== undefined ? { typ: oauth.typ } : {}),
        agentIdClaim: oauth.agentIdClaim,
        scopeClaim: oauth.scopeClaim,
        requiredScopes: oauth.requiredScopes,
        ...(oauth.rolesClaim !== undefined ? { rolesClaim: oauth.rolesClaim } : {}),
        ...(oauth.tenantClaim !== undefined ? { tenantClaim: oauth.tenantClaim } : {}),
      }),
    );
  }
  const spiffe = config.auth.spiffe;
  if (spiffe !== undefined) {
    authenticators.push(
      createSpiffeAuthenticator({
        trustBundle: await loadTrustBundle(spiffe.trustBundle),
        audience: spiffe.audience,
        agents: spiffe.agents,
        ...(spiffe.trustDomains.length > 0 ? { trustDomains: spiffe.trustDomains } : {}),
      }),
    );
  }
  authenticators.push(createApiKeyAuthenticator(input.apiKeyAgents));
  return authenticators;
}
