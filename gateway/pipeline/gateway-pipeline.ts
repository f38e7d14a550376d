/**
 * The pipeline as the gateway runs it, from its configuration: per-connector admission
 * (`connectorLimits`), the call deadline (`limits.callTimeoutMs`), elevation through the approval queue
 * (arguments shown to operators with secrets masked) and the audit flush policy.
 */
import type { JsonObject } from '../../connectors/contract.js';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/index.js';
import type { ApprovalQueue, GrantStore } from '../services/approvals/index.js';
import { redactDetail } from '../services/audit/index.js';
import { createAdmission } from './admission.js';
import type { PipelineDeps } from './lists.js';
import { createPipeline, type Pipeline } from './pipeline.js';

export function createGatewayPipeline(
  config: GatewayConfig,
  deps: Omit<PipelineDeps, 'elevation' | 'admission' | 'flushAuditBeforeResponse' | 'callTimeoutMs' | 'onError'> & {
    approvals: { queue: ApprovalQueue; grants: GrantStore };
    logger: Logger;
  },
): Pipeline {
  const { approvals, logger, ...parts } = deps;
  return createPipeline({
    ...parts,
    elevation: {
      ...approvals,
      audit: deps.audit,
      config: config.approvals,
      redactArgs: (args: JsonObject) => redactDetail(args) as JsonObject,
    },
    flushAuditBeforeResponse: config.audit.flushBeforeResponse,
    admission: createAdmission(config.connectorLimits),
    callTimeoutMs: config.limits.callTimeoutMs,
    onError: (err: unknown, where?: string) =>
      logger.error({ where, err: err instanceof Error ? err.message : String(err) }, 'pipeline error'),
  });
}
