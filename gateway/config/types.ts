/** What loading and checking a configuration produce. */
import type { GatewayConfig } from './schema.js';

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
