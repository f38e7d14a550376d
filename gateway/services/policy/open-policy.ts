/**
 * The policy store as the gateway runs it: the configured files and shadow files, compiled with the rules
 * the configuration implies (baselines), reloads and shadow decisions recorded (policy-events.ts).
 */
import type { GatewayConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/index.js';
import type { AuditSink } from '../audit/index.js';
import type { Metrics } from '../metrics/index.js';
import { baselineRules } from './baseline-rules.js';
import { readPolicyFiles } from './load.js';
import { policyEventRecorder } from './policy-events.js';
import { knownNamesFromConfig, unknownPolicyReferences } from './references.js';
import { createPolicyStore, type PolicyStore } from './store.js';

export function openPolicy(
  config: GatewayConfig,
  deps: { audit: AuditSink; metrics: Metrics; logger: Logger },
): Promise<PolicyStore> {
  return createPolicyStore({
    files: config.policy.files,
    shadowFiles: config.policy.shadow,
    watch: config.policy.watch,
    settleMs: config.policy.settleMs,
    extraRules: () => baselineRules(config),
    logger: deps.logger,
    ...policyEventRecorder(deps),
  });
}

/**
 * Rules naming an agent, role, connector or tool that does not exist never match: say so at start, once
 * the catalog knows the exposed tool names.
 */
export async function warnUnknownReferences(
  config: GatewayConfig,
  catalog: { tools(): readonly { exposedName: string }[] },
  logger: Logger,
): Promise<void> {
  const known = knownNamesFromConfig(
    config,
    catalog.tools().map((tool) => tool.exposedName),
  );
  for (const problem of unknownPolicyReferences(await readPolicyFiles(config.policy.files), known))
    logger.warn({ file: problem.file, line: problem.line, rule: problem.rule }, problem.message);
}
