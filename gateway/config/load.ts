/**
 * Load `portcullis.yaml`: read, parse YAML, validate strictly, check cross-references, resolve relative
 * paths against the file's folder. Every failure is a ConfigError naming the file, the path to the bad key
 * and what was expected; nothing is half-loaded.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { copyJsonValue, NotJsonError, REFERS_BACK } from '../../connectors/json-copy.js';
import { documentProblems } from './checks.js';
import { GatewayConfigSchema, type GatewayConfig } from './schema.js';
import { ConfigError, type ConfigProblem, type LoadedConfig } from './types.js';

export { ConfigError, type ConfigProblem, type LoadedConfig } from './types.js';

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
  const raw: unknown = document.toJS();
  // An empty file would otherwise start a gateway on the default port with nothing configured.
  if (raw === null || raw === undefined || (typeof raw === 'object' && Object.keys(raw).length === 0)) {
    throw new ConfigError(file, [
      { path: '', message: 'the configuration is empty; configure at least `agents` and `connectors`' },
    ]);
  }
  const parsed = GatewayConfigSchema.safeParse(plainJsonOf(raw, file));
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  const baseDir = path.dirname(file);
  const config = resolvePaths(parsed.data, baseDir);
  const problems = documentProblems(config);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { file, baseDir, config };
}

/**
 * The document as plain JSON (copyJsonValue), refused with the path of the first value that is not: an alias
 * inside the node it names makes a value that contains itself, which nothing downstream can walk (JSON
 * Schema compilers, hashing, sending it), and `.inf` or `.nan` has no JSON form.
 */
function plainJsonOf(raw: unknown, file: string): unknown {
  try {
    return copyJsonValue(raw);
  } catch (error) {
    if (!(error instanceof NotJsonError)) throw error;
    const message =
      error.reason === REFERS_BACK
        ? 'YAML: an alias here refers to a node that contains it; the value would contain itself'
        : `YAML: this value ${error.reason}`;
    throw new ConfigError(file, [{ path: error.segments.join('.'), message }]);
  }
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
    stores:
      config.stores.kind === 'redis'
        ? {
            ...config.stores,
            recovery: { ...config.stores.recovery, auditFiles: config.stores.recovery.auditFiles.map(abs) },
          }
        : config.stores,
    auth:
      config.auth.spiffe === undefined
        ? config.auth
        : { ...config.auth, spiffe: { ...config.auth.spiffe, trustBundle: abs(config.auth.spiffe.trustBundle) } },
  };
}
