/**
 * The policy store as the gateway runs it: the configured files and shadow files, compiled with the rules
 * the configuration implies (baselines), reloads and shadow decisions recorded (policy-events.ts).
 */
import type { ParsedPolicy } from '../../../policies/index.js';
import type { GatewayConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/index.js';
import type { AuditSink } from '../audit/index.js';
import type { Metrics } from '../metrics/index.js';
import { baselineRules } from './baseline-rules.js';
import { policyEventRecorder } from './policy-events.js';
import { knownNamesFromConfig, unknownPolicyReferences } from './references.js';
import { createPolicyStore, type PolicyStore } from './store.js';

/** The gateway's policy store, and the start-up check of its rules' references (once the catalog is open). */
export interface OpenedPolicy {
  store: PolicyStore;
  /** warnUnknownReferences on the documents the store read at startup; they are let go after it. */
  warnUnknownReferences(catalog: { tools(): readonly { exposedName: string }[] }): void;
}

export async function openPolicy(
  config: GatewayConfig,
  deps: { audit: AuditSink; metrics: Metrics; logger: Logger },
): Promise<OpenedPolicy> {
  // The store hands over what it read at startup; kept only until the check (the YAML line maps are large).
  const startup: { documents?: readonly ParsedPolicy[] } = {};
  const store = await createPolicyStore({
    files: config.policy.files,
    shadowFiles: config.policy.shadow,
    watch: config.policy.watch,
    settleMs: config.policy.settleMs,
    extraRules: () => baselineRules(config),
    logger: deps.logger,
    onStartupDocuments: (documents) => (startup.documents = documents),
    ...policyEventRecorder(deps),
  });
  return {
    store,
    warnUnknownReferences(catalog) {
      warnUnknownReferences(startup.documents ?? [], config, catalog, deps.logger);
      delete startup.documents;
    },
  };
}

/** How many unknown references the gateway logs one by one at start; the rest are counted in one line. */
export const REFERENCE_WARNINGS_LOGGED = 20;

/**
 * Rules naming an agent, role, connector or tool that does not exist never match: say so at start, once
 * the catalog knows the exposed tool names, for the documents the policy store loaded (`onStartupDocuments`).
 * The first REFERENCE_WARNINGS_LOGGED findings are logged one by one and any others counted in one more line
 * that says where to see them (`portcullis config validate`):
 * a policy written for agents this gateway does not serve can name thousands, and a line each would bury
 * the log. It would cost every call afterwards as well: such a burst of log records at start-up leads V8
 * to allocate some of the objects every call makes in its old generation from then on (allocation-site
 * pretenuring), where they keep the call's young objects alive through the next collection
 * (docs/benchmarks.md).
 */
export function warnUnknownReferences(
  documents: readonly ParsedPolicy[],
  config: GatewayConfig,
  catalog: { tools(): readonly { exposedName: string }[] },
  logger: Logger,
): void {
  const known = knownNamesFromConfig(
    config,
    catalog.tools().map((tool) => tool.exposedName),
  );
  const problems = unknownPolicyReferences(documents, known);
  for (const problem of problems.slice(0, REFERENCE_WARNINGS_LOGGED))
    logger.warn({ file: problem.file, line: problem.line, rule: problem.rule }, problem.message);
  const more = problems.length - REFERENCE_WARNINGS_LOGGED;
  if (more > 0)
    logger.warn(
      { more, total: problems.length },
      `${more} more policy rule references name no configured agent, role, connector or tool (portcullis config validate <config file> lists them)`,
    );
}
