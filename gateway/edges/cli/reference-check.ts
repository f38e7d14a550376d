/**
 * What `portcullis config validate` checks in the files a configuration refers to, besides OpenAPI documents
 * (connector-check.ts): the policy files (read, schema-checked and compiled together with the rules the
 * configuration implies, as the gateway would at start) and, on request, every secret reference (resolved,
 * never printed: a missing variable or an unreadable or empty file is reported by its reference only).
 */
import { compilePolicy, formatPolicyProblem, isPolicyCompileError } from '../../../policies/index.js';
import { resolveSecretRef, type Environment, type GatewayConfig } from '../../config/index.js';
import { baselineRules } from '../../services/policy/index.js';
import { knownNamesFromConfig, readPolicyFiles, unknownPolicyReferences } from '../../services/policy/index.js';

export interface PolicyCheck {
  /** Rules in the enforced policy files; undefined when they do not compile. */
  rules?: number;
  problems: string[];
  /** Rules naming an agent, role, connector or tool the configuration lacks (start-up warns about them too). */
  warnings: string[];
}

/**
 * Read and compile the enforced policy files as the gateway loads them. Shadow files are left to the
 * preflight, which reports them as warnings: start-up only reports a broken shadow policy, so validation
 * must not refuse what start-up accepts.
 */
export async function checkPolicyFiles(config: GatewayConfig): Promise<PolicyCheck> {
  const problems: string[] = [];
  const warnings: string[] = [];
  let rules: number | undefined;
  for (const [files, enforced] of [[config.policy.files, true]] as const) {
    if (files.length === 0) continue;
    try {
      const documents = await readPolicyFiles(files);
      compilePolicy(documents, { extraRules: baselineRules(config) });
      if (enforced) rules = documents.reduce((sum, doc) => sum + doc.document.rules.length, 0);
      for (const p of unknownPolicyReferences(documents, knownNamesFromConfig(config)))
        warnings.push(`${p.file}${p.line !== undefined ? `:${p.line}` : ''}: rule ${p.rule}: ${p.message}`);
    } catch (error) {
      if (!isPolicyCompileError(error)) throw error;
      problems.push(...error.problems.map(formatPolicyProblem));
    }
  }
  return { ...(rules !== undefined ? { rules } : {}), problems, warnings };
}

/** Keys whose string values are secret references in the configuration schema. */
const SECRET_KEYS = new Set(['secret', 'password', 'signingKey', 'key']);
const SECRET_REF = /^(env:|file:)/;

/** Every secret reference in the configuration, with the dotted path to it. */
export function secretReferences(config: GatewayConfig): { path: string; ref: string }[] {
  const found: { path: string; ref: string }[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, `${path}.${index}`));
    else if (typeof value === 'object' && value !== null)
      for (const [key, child] of Object.entries(value)) {
        const childPath = path === '' ? key : `${path}.${key}`;
        if (SECRET_KEYS.has(key) && typeof child === 'string' && SECRET_REF.test(child))
          found.push({ path: childPath, ref: child });
        else walk(child, childPath);
      }
  };
  walk(config, '');
  return found;
}

/** Resolve every secret reference; returns one line per reference that cannot be resolved. */
export async function checkSecretReferences(
  config: GatewayConfig,
  options: { env: Environment; baseDir: string },
): Promise<string[]> {
  const problems: string[] = [];
  for (const { path, ref } of secretReferences(config)) {
    try {
      await resolveSecretRef(ref, options);
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  }
  return problems;
}
