/**
 * Write-ahead audit: a call's decision record (`tool.intent`: agent, task, tool, canonical operation,
 * decision, rules, policy version, argument digest) is made durable before anything is sent to a backend.
 * When it cannot be written the call is refused with AUDIT_UNAVAILABLE and nothing leaves. The outcome
 * record (`tool.call`) that follows carries the same `callId`, so `portcullis audit verify` can name the
 * calls whose outcome never made it to the log (in doubt).
 */
import type { AuditRecordInput, AuditSink } from '../services/audit/index.js';
import { GatewayError } from '../kernel/index.js';

/** Resolves with undefined once the intent is durable, or with the refusal to return to the agent. */
export async function recordIntent(
  audit: AuditSink,
  outcome: Readonly<AuditRecordInput>,
  onError?: (error: unknown, where: string) => void,
): Promise<GatewayError | undefined> {
  const { latencyMs: _latency, code: _code, reason: _reason, ...decided } = outcome;
  try {
    await audit.append({ ...decided, event: 'tool.intent' });
    return undefined;
  } catch (error) {
    onError?.(error, 'audit intent');
    return new GatewayError(
      'AUDIT_UNAVAILABLE',
      'the audit log cannot record this call right now, so it was not sent; try again later',
    );
  }
}
