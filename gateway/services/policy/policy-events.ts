/**
 * What the gateway records about its policy: reloads (counted and audited, ok or error) and shadow
 * decisions that differ from the enforced one (logged and audited, never enforced). A shadow record names
 * the agent and what was decided: the tool, `resource:<canonical URI>` or `prompt:<exposed name>` (the
 * names approvals use), or the egress destination's connector scope.
 */
import type { Logger } from '../../kernel/index.js';
import { appendBestEffort, type AuditSink } from '../audit/index.js';
import type { CallFacts, EgressFacts, ItemFacts } from '../../../policies/types.js';
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
    onShadowDecision(enforced, shadow, facts, info) {
      if (enforced.effect === shadow.effect) return;
      const agentId = facts.principal?.agentId;
      const subject = subjectOf(facts);
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
        ...(agentId !== undefined ? { agentId } : {}),
        ...subject,
        detail: { kind: info.kind, enforced: enforced.effect, wouldBe: shadow.effect, rules: [...shadow.rules] },
      });
    },
  };
}

function subjectOf(facts: CallFacts | EgressFacts | ItemFacts): { tool?: string; target?: string } {
  if ('kind' in facts) return { tool: `${facts.kind}:${facts.name}`, target: facts.connector };
  if ('args' in facts) return { tool: facts.tool.name, target: facts.tool.connector };
  return { target: facts.connector, ...(facts.tool !== undefined ? { tool: facts.tool } : {}) };
}
