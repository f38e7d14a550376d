/**
 * Policy rules that name something the configuration does not have: an agent, a role, a connector or a
 * tool. Such a rule never matches, which is almost always a typo that silently widens or narrows what is
 * allowed. The gateway logs these as warnings when it loads; `portcullis policy validate --config FILE`
 * reports them as errors.
 */
import { matchNameGlob, type ParsedPolicy } from '../../../policies/index.js';
import type { GatewayConfig } from '../../config/index.js';

export interface KnownNames {
  agents: readonly string[];
  roles: readonly string[];
  connectors: readonly string[];
  /** Exposed tool names when known (the catalog); otherwise tools are checked by connector prefix only. */
  tools?: readonly string[];
}

export interface PolicyReferenceProblem {
  file: string;
  line?: number;
  rule: string;
  message: string;
}

export function unknownPolicyReferences(
  documents: readonly ParsedPolicy[],
  known: KnownNames,
): PolicyReferenceProblem[] {
  const problems: PolicyReferenceProblem[] = [];
  for (const parsed of documents) {
    parsed.document.rules.forEach((rule, index) => {
      const report = (key: (string | number)[], message: string): void => {
        const line = parsed.lineOf?.(['rules', index, ...key]);
        problems.push({ file: parsed.file, ...(line !== undefined ? { line } : {}), rule: rule.id, message });
      };
      for (const pattern of rule.principal?.agents ?? [])
        if (!known.agents.some((agent) => matchNameGlob(pattern, agent)))
          report(['principal', 'agents'], `agent "${pattern}" matches no configured agent`);
      for (const pattern of rule.principal?.roles ?? [])
        if (!known.roles.some((role) => matchNameGlob(pattern, role)))
          report(['principal', 'roles'], `role "${pattern}" matches no role of a configured agent`);
      for (const pattern of rule.tools ?? []) {
        const problem = toolProblem(pattern, known);
        if (problem !== undefined) report(['tools'], problem);
      }
    });
  }
  return problems;
}

function toolProblem(pattern: string, known: KnownNames): string | undefined {
  if (known.tools !== undefined) {
    return known.tools.some((tool) => matchNameGlob(pattern, tool))
      ? undefined
      : `tool "${pattern}" matches no tool of a configured connector`;
  }
  // Exposed names are `${connector}_${tool}`: a literal connector part must be a configured connector.
  const connector = pattern.split('_')[0] ?? '';
  if (/[*?[\]{}]/.test(connector) || !pattern.includes('_')) return undefined;
  return known.connectors.includes(connector) ? undefined : `tool "${pattern}" names no configured connector`;
}

/** The names a configuration defines; inline HTTP tools are known by name, other connectors by prefix. */
export function knownNamesFromConfig(config: GatewayConfig, tools?: readonly string[]): KnownNames {
  const inline = config.connectors.flatMap((c) =>
    c.kind === 'http' && c.openapi === undefined ? (c.tools ?? []).map((t) => `${c.id}_${t.name}`) : [],
  );
  const allInline = config.connectors.every((c) => c.kind === 'http' && c.openapi === undefined);
  return {
    agents: config.agents.map((a) => a.id),
    roles: [...new Set(config.agents.flatMap((a) => a.roles))],
    connectors: config.connectors.map((c) => c.id),
    ...(tools !== undefined ? { tools } : allInline ? { tools: inline } : {}),
  };
}
