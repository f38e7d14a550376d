/**
 * Health details for operators (viewer role): `GET /v1/operator/health` ->
 * `{ ok, version, policy, stores, audit, connectors }`. Each part says what it knows and when it last
 * failed; a store that cannot be reached is reported as unreachable, never as empty. `ok` is false when
 * any part is unhealthy, and the answer is 200 either way (the details are the point).
 */
import { sendError } from '../http/index.js';
import express, { type Router } from 'express';
import type { Catalog } from '../../services/catalog/index.js';
import type { PolicyStatus } from '../../services/policy/index.js';
import type { RecentAudit } from '../../services/audit/index.js';
import type { OperatorAuthenticator } from './operator-auth.js';

export interface OperatorHealthSources {
  version: string;
  policy: () => PolicyStatus;
  stores: { kind: 'memory' | 'redis'; probe: () => Promise<void> };
  audit: { kind: 'file' | 'memory'; file?: string; durability?: string; recent: RecentAudit };
  catalog: Catalog;
}

export async function operatorHealth(
  sources: OperatorHealthSources,
): Promise<Record<string, unknown> & { ok: boolean }> {
  const policy = sources.policy();
  let storesReachable = true;
  try {
    await sources.stores.probe();
  } catch {
    storesReachable = false;
  }
  const auditStatus = sources.audit.recent.status();
  const auditOk =
    auditStatus.lastFailureAt === undefined ||
    (auditStatus.lastDurableAt !== undefined && auditStatus.lastDurableAt > auditStatus.lastFailureAt);
  const tools = sources.catalog.tools();
  const warnings = sources.catalog.warnings();
  const connectors = sources.catalog.connectors().map((connector) => ({
    id: connector.id,
    kind: connector.kind,
    tools: tools.filter((tool) => tool.connector.id === connector.id).length,
    warnings: warnings.filter((w) => w.connector === connector.id).map((w) => w.message),
  }));
  return {
    ok: policy.lastError === undefined && storesReachable && auditOk,
    version: sources.version,
    policy: {
      version: policy.version,
      loadedAt: policy.loadedAt,
      ruleCount: policy.ruleCount,
      files: policy.files,
      ...(policy.lastError !== undefined ? { lastError: policy.lastError } : {}),
    },
    stores: { kind: sources.stores.kind, reachable: storesReachable },
    audit: {
      kind: sources.audit.kind,
      ...(sources.audit.file !== undefined ? { file: sources.audit.file } : {}),
      ...(sources.audit.durability !== undefined ? { durability: sources.audit.durability } : {}),
      ok: auditOk,
      ...auditStatus,
    },
    connectors,
  };
}

export function createHealthRouter(options: {
  sources: OperatorHealthSources;
  operatorAuth: OperatorAuthenticator;
}): Router {
  const router = express.Router();
  router.get('/v1/operator/health', options.operatorAuth.require('viewer'), async (_req, res) => {
    try {
      res.set('cache-control', 'no-store').json(await operatorHealth(options.sources));
    } catch (error) {
      sendError(res, error);
    }
  });
  return router;
}
