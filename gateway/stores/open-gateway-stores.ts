/**
 * The state stores as the gateway runs them: a rebuild after the store lost its data starts from this
 * instance's audit log, lost approval requests are listed for as long as pending ones live, and a loss and
 * its recovery are logged and audited (what was rebuilt, from where, how long).
 */
import type { Environment, GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/index.js';
import { appendBestEffort, type AuditSink } from '../services/audit/index.js';
import { openStores, type Stores } from './open-stores.js';
import type { EpochEvent } from './redis-epoch.js';

export function openGatewayStores(
  config: GatewayConfig,
  deps: { env: Environment; baseDir: string; audit: AuditSink; logger: Logger },
): Promise<Stores> {
  return openStores(config.stores, {
    env: deps.env,
    baseDir: deps.baseDir,
    ...(config.audit.file !== undefined ? { auditFile: config.audit.file, flushAudit: () => deps.audit.flush() } : {}),
    pendingApprovalTtlSeconds: config.approvals.pendingTtlSeconds,
    onEpochEvent: storeEpochRecorder(deps.audit, deps.logger),
  });
}

/** A state store that lost its data, and its recovery: logged and audited (what was rebuilt, from where, how long). */
function storeEpochRecorder(audit: AuditSink, logger: Logger): (event: EpochEvent) => void {
  return (event) => {
    switch (event.kind) {
      case 'lost':
        logger.error({ reason: event.reason }, 'the state store lost its data; refusing until it is rebuilt');
        void appendBestEffort(audit, {
          event: 'store.lost',
          decision: 'error',
          code: 'STORE_UNAVAILABLE',
          reason: event.reason === 'missing' ? 'store epoch missing' : 'store epoch changed (rebuilt elsewhere)',
        });
        return;
      case 'recovered': {
        const detail = { how: event.how, downMs: event.downMs, ...(event.report !== undefined ? event.report : {}) };
        logger.warn(detail, 'state store recovered');
        void appendBestEffort(audit, { event: 'store.recovered', detail });
        return;
      }
      case 'rebuild-failed':
        logger.error(
          { err: event.error instanceof Error ? event.error.message : String(event.error) },
          'state store rebuild failed; still refusing, retrying',
        );
        return;
    }
  };
}
