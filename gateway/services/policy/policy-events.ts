/**
 * What the gateway records about its policy: reloads (counted and audited, ok or error) and shadow
 * decisions that differ from the enforced one (logged and audited, never enforced).
 */
import type { Logger } from '../../kernel/index.js';
import { appendBestEffort, type AuditSink } from '../audit/index.js';
import type { Metrics } from '../metrics/index.js';
import type { ReloadResult, ShadowDecisionListener } from './store.js';

export interface PolicyEventListeners {
  onReload: (result: ReloadResult) => void;
  onShadowDecision: ShadowDecisionListener;
}

export function policyEventRecorder(deps: {
  audit: AuditSink;
  metrics: Metrics;
  logger: Logger;
}): PolicyEventListeners {
  return {
    onReload(result) {
      const ok = (result as { ok?: boolean } | undefined)?.ok !== false;
      deps.metrics.policyReload(ok ? 'ok' : 'error');
      void appendBestEffort(deps.audit, { event: 'policy.reload', decision: ok ? 'allow' : 'error' });
    },
    onShadowDecision(enforced, shadow, _facts, info) {
      if (enforced.effect === shadow.effect) return;
      deps.logger.info(
        {
          kind: info.kind,
          enforced: enforced.effect,
          shadow: shadow.effect,
          shadowRules: shadow.rules,
          shadowVersion: info.shadowVersion,
        },
        'shadow policy would decide differently',
      );
      void appendBestEffort(deps.audit, {
        event: 'policy.shadow',
        decision: shadow.effect,
        detail: { kind: info.kind, enforced: enforced.effect, wouldBe: shadow.effect, rules: [...shadow.rules] },
      });
    },
  };
}
