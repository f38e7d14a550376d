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

/** How many unknown references the gateway logs one by one at start; the rest are counted in one line. */
export const REFERENCE_WARNINGS_LOGGED = 20;

/**
 * Rules naming an agent, role, connector or tool that does not exist never match: say so at start, once
 * the catalog knows the exposed tool names. The first REFERENCE_WARNINGS_LOGGED findings are logged one by
 * one and any others counted in one more line that says where to see them (`portcullis config validate`):
 * a policy written for agents this gateway does not serve can name thousands, and a line each would bury
 * the log. It would cost every call afterwards as well: such a burst of log records at start-up leads V8
 * to allocate some of the objects every call makes in its old generation from then on (allocation-site
 * pretenuring), where they keep the call's young objects alive through the next collection
 * (docs/benchmarks.md).
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
  const problems = unknownPolicyReferences(await readPolicyFiles(config.policy.files), known);
  for (const problem of problems.slice(0, REFERENCE_WARNINGS_LOGGED))
    logger.warn({ file: problem.file, line: problem.line, rule: problem.rule }, problem.message);
  const more = problems.length - REFERENCE_WARNINGS_LOGGED;
  if (more > 0)
    logger.warn(
      { more, total: problems.length },
      `${more} more policy rule references name no configured agent, role, connector or tool (portcullis config validate <config file> lists them)`,
    );
}
