/**
 * record-intent: the write-ahead audit record (docs/design.md section 6). The decision record must be durable
 * before anything leaves for the backend; when it cannot be written, the run ends with AUDIT_UNAVAILABLE
 * and nothing is invoked. After this step, every run ends with an outcome record (the record step).
 */
import { GatewayError } from '../../kernel/index.js';
import type { AuditSink } from '../../services/audit/index.js';
import type { Step } from '../step.js';

export function recordIntentStep(audit: AuditSink, onError?: (error: unknown, where: string) => void): Step {
  return {
    name: 'record-intent',
    endsAs: 'error',
    async run(state) {
      const decision = state.decision;
      try {
        await audit.append({
          ...state.record,
          event: 'call.intent',
          decision: 'allow',
          detail: { ...state.record.detail, operation: state.operation },
          ...(decision !== undefined ? { rules: decision.rules } : {}),
          ...(decision?.policyVersion !== undefined ? { policyVersion: decision.policyVersion } : {}),
        });
      } catch (error) {
        onError?.(error, 'audit');
        return {
          end: new GatewayError(
            'AUDIT_UNAVAILABLE',
            'the call could not be recorded in the audit log; it was not made',
          ),
        };
      }
      state.intentRecorded = true;
      return undefined;
    },
  };
}
