/**
 * Load `portcullis.yaml`: read, parse YAML, validate strictly, check cross-references, resolve relative
 * paths against the file's folder. Every failure is a ConfigError naming the file, the path to the bad key
 * and what was expected; nothing is half-loaded.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { GatewayConfigSchema, type GatewayConfig } from './schema.js';
import { isLoopbackAddress, parseHostHeader } from '../kernel/index.js';

export interface ConfigProblem {
  /** Dotted path to the offending key, e.g. `agents.0.apiKeys.1.sha256`; '' for the document itself. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
  }
}

/** A loaded configuration plus where it came from (relative paths in it are already absolute). */
export interface LoadedConfig {
  file: string;
  baseDir: string;
  config: GatewayConfig;
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(absolute, [
      { path: '', message: `cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
  return parseConfigText(text, absolute);
}

export function parseConfigText(text: string, file: string): LoadedConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` })),
    );
  }
  const raw: unknown = document.toJS() ?? {};
  const parsed = GatewayConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  const baseDir = path.dirname(file);
  const config = resolvePaths(parsed.data, baseDir);
  const problems = crossCheck(config);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { file, baseDir, config };
}

export function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: describeIssue(issue),
  }));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key(s): ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_union') {
    // Unions of connector kinds: say what was expected instead of dumping every branch.
    return 'does not match any accepted shape (check `kind`/`transport` and the keys allowed for it)';
  }
  return issue.message;
}

function resolvePaths(config: GatewayConfig, baseDir: string): GatewayConfig {
  const abs = (p: string): string => path.resolve(baseDir, p);
  return {
    ...config,
    policy: { ...config.policy, files: config.policy.files.map(abs), shadow: config.policy.shadow.map(abs) },
    audit: config.audit.file === undefined ? config.audit : { ...config.audit, file: abs(config.audit.file) },
    credentials: { ...config.credentials, devKeyDir: abs(config.credentials.devKeyDir) },
    auth:
      config.auth.spiffe === undefined
        ? config.auth
        : { ...config.auth, spiffe: { ...config.auth.spiffe, trustBundle: abs(config.auth.spiffe.trustBundle) } },
  };
}

/** Checks that span several keys: unique ids, unique keys, metrics not left open beyond loopback. */
function crossCheck(config: GatewayConfig): ConfigProblem[] {
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
