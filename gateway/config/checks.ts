/**
 * Every check a configuration must pass beyond its schema, in one module, so that `portcullis config
 * validate` and the gateway never disagree. A new check is added here:
 * - document checks (ids and keys that span several entries) run whenever a file is loaded;
 * - deployment checks (where the gateway would keep its state) run by `config validate` and at start,
 *   not at load (the demo loads a configuration shipped inside the package and moves its state out).
 */
import { isLoopbackAddress, parseHostHeader } from '../kernel/index.js';
import { stateLocationProblems } from './state-location.js';
import type { GatewayConfig } from './schema.js';
import { ConfigError, type ConfigProblem, type LoadedConfig } from './types.js';

export type DeploymentCheck = (loaded: LoadedConfig) => ConfigProblem[];

export const DEPLOYMENT_CHECKS: readonly DeploymentCheck[] = [
  // State the gateway writes (audit log, development keys) never lives inside an installed package.
  stateLocationProblems,
];

export function deploymentProblems(loaded: LoadedConfig): ConfigProblem[] {
  return DEPLOYMENT_CHECKS.flatMap((check) => check(loaded));
}

/** Throws a ConfigError naming every problem the deployment checks find. */
export function assertConfigUsable(loaded: LoadedConfig): void {
  const problems = deploymentProblems(loaded);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
}

/**
 * Document checks: unique ids and keys, references between entries, host entries that parse, metrics not left
 * open beyond loopback.
 */
export function documentProblems(config: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seenConnectors = new Map<string, number>();
  config.connectors.forEach((connector, index) => {
    const previous = seenConnectors.get(connector.id);
    if (previous !== undefined) {
      problems.push({
        path: `connectors.${index}.id`,
        message: `duplicate connector id "${connector.id}" (also connectors.${previous})`,
      });
    }
    seenConnectors.set(connector.id, index);
  });
  const seenAgents = new Map<string, number>();
  const seenKeyHashes = new Map<string, string>();
  config.agents.forEach((agent, index) => {
    const previous = seenAgents.get(agent.id);
    if (previous !== undefined) {
      problems.push({
        path: `agents.${index}.id`,
        message: `duplicate agent id "${agent.id}" (also agents.${previous})`,
      });
    }
    seenAgents.set(agent.id, index);
    agent.apiKeys.forEach((key, keyIndex) => {
      if (!('sha256' in key)) return;
      const owner = seenKeyHashes.get(key.sha256);
      if (owner !== undefined && owner !== agent.id) {
        problems.push({
          path: `agents.${index}.apiKeys.${keyIndex}`,
          message: `API key already belongs to agent "${owner}"`,
        });
      }
      seenKeyHashes.set(key.sha256, agent.id);
    });
  });
  for (const id of Object.keys(config.egress.connectors)) {
    if (!seenConnectors.has(id))
      problems.push({ path: `egress.connectors.${id}`, message: `unknown connector "${id}"` });
  }
  for (const id of Object.keys(config.backendCredentials)) {
    if (!seenConnectors.has(id))
      problems.push({ path: `backendCredentials.${id}`, message: `unknown connector "${id}"` });
  }
  const seenOperators = new Set<string>();
  config.operators.forEach((operator, index) => {
    if (seenOperators.has(operator.id))
      problems.push({ path: `operators.${index}.id`, message: `duplicate operator id "${operator.id}"` });
    seenOperators.add(operator.id);
    operator.tokens.forEach((token, tokenIndex) => {
      if ('sha256' in token && seenKeyHashes.has(token.sha256)) {
        problems.push({
          path: `operators.${index}.tokens.${tokenIndex}`,
          message: 'an operator token must not also be an agent key',
        });
      }
    });
  });
  config.http.allowedHosts.forEach((entry, index) => {
    if (parseHostHeader(entry) === undefined)
      problems.push({
        path: `http.allowedHosts.${index}`,
        message: `"${entry}" is not a host name or host:port (no scheme, path or user)`,
      });
  });
  if (
    !isLoopbackAddress(config.listen.host) &&
    config.metrics.listen === undefined &&
    config.metrics.token === undefined
  ) {
    problems.push({
      path: 'metrics',
      message: `the gateway listens beyond loopback (${config.listen.host}): set metrics.token, or metrics.listen for a separate metrics listener, so /metrics is not open to everyone who reaches the port`,
    });
  }
  config.agents.forEach((agent, index) => {
    agent.owners.forEach((owner, ownerIndex) => {
      if (!seenOperators.has(owner))
        problems.push({ path: `agents.${index}.owners.${ownerIndex}`, message: `unknown operator "${owner}"` });
    });
  });
  return problems;
}
