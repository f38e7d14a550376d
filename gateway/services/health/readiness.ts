/**
 * Readiness: can this instance serve a call right now? It is not ready only for what fails every call:
 * the configured state store, the audit sink, no policy loaded, a connector marked `required`, or a drain
 * in progress. Anything narrower (one optional connector down, a policy file that failed to reload while
 * the last good policy is enforced) is reported in the details but keeps the instance ready, so one
 * backend outage does not pull every replica out of the load balancer.
 *
 * Every check is synchronous and reads state the components already keep, so a probe costs nothing and
 * cannot hang.
 */

export interface ComponentHealth {
  available: boolean;
  /** Short, safe to show: no secrets, no paths of credentials. */
  reason?: string;
}

export interface ConnectorHealthSource {
  id: string;
  /** A required connector that is down makes the instance not ready. */
  required: boolean;
  health(): ComponentHealth;
}

export interface ReadinessSources {
  audit: () => ComponentHealth;
  store: () => ComponentHealth;
  /** Whether a policy is loaded, and the last reload error if one failed (the last good policy stays). */
  policy: () => { loaded: boolean; version?: string; lastError?: string };
  connectors: () => readonly ConnectorHealthSource[];
  /** Set once shutdown began: readiness fails at once so load balancers stop sending work. */
  draining: () => boolean;
}

export interface ReadinessReport {
  ready: boolean;
  /** Why not ready: every failing check, with what it reported (operators only: may name files or hosts). */
  reason?: string;
  /** The failing checks by name only (e.g. `audit log unavailable`): safe for anyone who reaches the port. */
  summary?: string;
  /** Per-component state; may be withheld from callers that are not operators. */
  details: {
    audit: ComponentHealth;
    store: ComponentHealth;
    policy: { loaded: boolean; version?: string; lastError?: string };
    connectors: Record<string, ComponentHealth & { required: boolean }>;
    draining: boolean;
  };
}

export function checkReadiness(sources: ReadinessSources): ReadinessReport {
  const audit = safely(sources.audit);
  const store = safely(sources.store);
  const policy = sources.policy();
  const draining = sources.draining();
  const connectors: ReadinessReport['details']['connectors'] = {};
  const reasons: string[] = [];
  const failing: string[] = [];
  const fail = (what: string, why?: string): void => {
    failing.push(what);
    reasons.push(`${what}${suffix(why)}`);
  };
  if (draining) fail('shutting down');
  if (!store.available) fail('state store unavailable', store.reason);
  if (!audit.available) fail('audit log unavailable', audit.reason);
  if (!policy.loaded) fail('no policy loaded', policy.lastError);
  for (const connector of sources.connectors()) {
    const health = safely(() => connector.health());
    connectors[connector.id] = { ...health, required: connector.required };
    if (connector.required && !health.available) fail(`required connector ${connector.id} unavailable`, health.reason);
  }
  return {
    ready: reasons.length === 0,
    ...(reasons.length > 0 ? { reason: reasons.join('; '), summary: failing.join('; ') } : {}),
    details: { audit, store, policy, connectors, draining },
  };
}

function safely(read: () => ComponentHealth): ComponentHealth {
  try {
    return read();
  } catch {
    return { available: false, reason: 'health check failed' };
  }
}

function suffix(reason: string | undefined): string {
  return reason !== undefined ? `: ${reason}` : '';
}
