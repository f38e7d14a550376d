/**
 * The checks start-up runs on a configuration before any part of the gateway is opened, in one place
 * (the commands that start a gateway have already started its stdio upstream servers by then, and stop
 * them when a check fails: gateway/services/catalog/early-upstreams.ts): `startGateway`
 * and `portcullis config validate` both run exactly these, so a configuration that validates does not
 * then fail to start for a reason validation could have seen (and the other way round).
 *
 * Beyond the schema and cross-references (`loadConfigFile`), they are: the rules the configuration implies
 * (each connector's and the gateway's own egress rules, agents' baselines) compile together with the
 * enforced policy files; every HTTP connector's tools and OpenAPI document load and import; the SPIFFE
 * trust bundle loads. A shadow policy that does not compile is a warning for both, as start-up only
 * reports it (shadow policies are never enforced). Nothing here touches the network, secrets or stores: those depend on the
 * environment the gateway runs in and are reported when it starts.
 */
import { createHttpConnector } from '../connectors/http/index.js';
import { compilePolicy, isPolicyCompileError } from '../policies/index.js';
import { ConfigError, type ConfigProblem, type LoadedConfig } from './config/index.js';
import { loadTrustBundle } from './services/auth/spiffe-authenticator.js';
import { baselineRules, compileGatewayDestinations, readPolicyFiles } from './services/policy/index.js';

export interface PreflightResult {
  /** Each one stops start-up. */
  problems: ConfigProblem[];
  /** Reported, not fatal (start-up logs them). */
  warnings: ConfigProblem[];
}

export async function preflight(loaded: LoadedConfig): Promise<PreflightResult> {
  const { config, baseDir } = loaded;
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

  for (const [key, files, into] of [
    ['policy.files', config.policy.files, problems],
    ['policy.shadow', config.policy.shadow, warnings],
  ] as const) {
    if (key === 'policy.shadow' && files.length === 0) continue;
    try {
      const documents = await readPolicyFiles(files);
      compilePolicy(documents, { extraRules: baselineRules(config), extraRulesSource: '(gateway configuration)' });
    } catch (error) {
      if (!isPolicyCompileError(error)) throw error;
      for (const problem of error.problems) {
        into.push({
          path: problem.file === '(gateway configuration)' ? 'connectors' : key,
          message: `${problem.file}:${problem.path}: ${problem.message}`,
        });
      }
    }
  }
  try {
    compileGatewayDestinations(config);
  } catch (error) {
    if (!isPolicyCompileError(error)) throw error;
    problems.push({ path: 'egress.gateway', message: error.message });
  }

  for (const [index, connector] of config.connectors.entries()) {
    if (connector.kind !== 'http') continue;
    try {
      const built = await createHttpConnector(connector, { baseDir });
      await built.close();
    } catch (error) {
      problems.push({ path: `connectors.${index}`, message: `connector ${connector.id}: ${message(error)}` });
    }
  }

  if (config.auth.spiffe !== undefined) {
    try {
      await loadTrustBundle(config.auth.spiffe.trustBundle);
    } catch (error) {
      problems.push({ path: 'auth.spiffe.trustBundle', message: message(error) });
    }
  }
  return { problems, warnings };
}

/** Throws the ConfigError start-up reports when any preflight check fails; returns the warnings. */
export async function assertPreflight(loaded: LoadedConfig): Promise<ConfigProblem[]> {
  const { problems, warnings } = await preflight(loaded);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
  return warnings;
}
