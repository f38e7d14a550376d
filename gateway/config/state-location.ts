/**
 * Where the gateway may keep state it writes (the audit log and its checkpoint, development signing keys).
 * Never inside an installed package: a path with a `node_modules` segment is wiped by the next install and
 * can be published with the package (a development private key shipped to everyone who installs it).
 * Relative paths in a config resolve against the config file's folder, so a config that lives in a package
 * (the shipped examples) would otherwise write there.
 */
import path from 'node:path';
import { ConfigError, type ConfigProblem, type LoadedConfig } from './types.js';

/** Why `target` (an absolute path) cannot hold gateway state, or undefined when it can. */
export function stateLocationProblem(target: string): string | undefined {
  const segments = path.resolve(target).split(/[\\/]+/);
  if (!segments.includes('node_modules')) return undefined;
  return `${target} is inside node_modules (an installed package): state there is lost on reinstall and may be published; use a path under the working directory`;
}

/** Every state path of this configuration that lies inside a package. */
export function stateLocationProblems(loaded: LoadedConfig): ConfigProblem[] {
  const { config } = loaded;
  const candidates: [key: string, target: string | undefined][] = [
    ['audit.file', config.audit.file],
    // Only read when no signing key is configured: the development key set lives there.
    ['credentials.devKeyDir', config.credentials.signingKey === undefined ? config.credentials.devKeyDir : undefined],
  ];
  const problems: ConfigProblem[] = [];
  for (const [key, target] of candidates) {
    const problem = target === undefined ? undefined : stateLocationProblem(target);
    if (problem !== undefined) problems.push({ path: key, message: problem });
  }
  return problems;
}

/** Throws a ConfigError naming every state path of this configuration that lies inside a package. */
export function assertStateOutsidePackages(loaded: LoadedConfig): void {
  const problems = stateLocationProblems(loaded);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
}
