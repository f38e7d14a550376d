/**
 * record: the closing step of every run. It writes the outcome record for runs that passed record-intent
 * and the denial record for runs that ended earlier, sets the run's span attributes and counts the call.
 * Where the configuration says records are flushed before the response, a run whose record could not be
 * written gives the agent no result (AUDIT_UNAVAILABLE); otherwise the failure is only reported (the
 * composition root's reporting sink logs and counts every failed append).
 */
import { GatewayError } from '../../kernel/index.js';
import type { AppendOptions, AuditEvent, AuditRecordInput, AuditSink } from '../../services/audit/index.js';
import type { Metrics, StoreOperation } from '../../services/metrics/index.js';
import {
  ATTR_PORTCULLIS_APPROVAL_ID,
  ATTR_PORTCULLIS_DECISION,
  ATTR_PORTCULLIS_POLICY_VERSION,
  ATTR_PORTCULLIS_RULES,
  markSpanError,
  setSpanAttributes,
} from '../../services/telemetry/index.js';
import type { CallState, Operation } from '../call-state.js';
import type { Step } from '../step.js';
import { upstreamErrorCode } from './invoke.js';

const EVENTS: Record<Operation, AuditEvent> = {
  'tools/call': 'tool.call',
  'elevation/request': 'elevation.request',
  'resources/read': 'resource.read',
  'resources/subscribe': 'resource.subscribe',
  'prompts/get': 'prompt.get',
  'completion/complete': 'completion.complete',
};

export interface RecordOptions {
  audit: AuditSink;
  metrics?: Metrics;
  flushAuditBeforeResponse: boolean;
  onError?: (error: unknown, where: string) => void;
}

export function recordStep(options: RecordOptions): Step {
  // Without the flush nobody waits for the record, so it may share the next call's synced write.
  const appendOptions: AppendOptions | undefined = options.flushAuditBeforeResponse
    ? undefined
    : Object.freeze({ deferrable: true });
  return {
    name: 'record',
    closing: true,
    endsAs: 'error',
    async run(state) {
      const record = outcomeRecord(state);
      const latencyMs = performance.now() - state.started;
      record.latencyMs = Math.round(latencyMs * 1000) / 1000;
      setSpanAttributes(state.span, {
        [ATTR_PORTCULLIS_DECISION]: record.decision ?? 'error',
        ...(record.rules !== undefined ? { [ATTR_PORTCULLIS_RULES]: [...record.rules] } : {}),
        ...(record.policyVersion !== undefined ? { [ATTR_PORTCULLIS_POLICY_VERSION]: record.policyVersion } : {}),
        ...(record.approvalId !== undefined ? { [ATTR_PORTCULLIS_APPROVAL_ID]: record.approvalId } : {}),
      });
      if (record.code !== undefined) markSpanError(state.span, { code: record.code });
      const outage = storeOutage(state);
      if (outage !== undefined) {
        // A store outage is logged and counted here, once per run, whichever step met it.
        options.metrics?.storeUnavailable(outage.operation);
        options.onError?.(outage.error.cause ?? outage.error, `store ${outage.operation}`);
      }
      if (state.operation === 'tools/call')
        options.metrics?.observeToolCall(state.name, callOutcome(record), latencyMs / 1000);
      const written = options.audit.append(record, appendOptions).then(
        () => true,
        (error: unknown) => {
          options.onError?.(error, 'audit');
          return false;
        },
      );
      if (options.flushAuditBeforeResponse && !(await written)) {
        return {
          end: new GatewayError(
            'AUDIT_UNAVAILABLE',
            'the call could not be recorded in the audit log; its result is withheld',
          ),
        };
      }
      return undefined;
    },
  };
}

/**
 * The gateway's own failures: whichever step met one, the record says `error`, never `deny` (an outage is
 * not a policy outcome).
 */
const OUTAGE_CODES: ReadonlySet<string> = new Set([
  'STORE_UNAVAILABLE',
  'AUDIT_UNAVAILABLE',
  'OVERLOADED',
  'SHUTTING_DOWN',
  'INTERNAL',
]);

/** The record as the run ended: the decision, the code and the reason follow from the run's outcome. */
function outcomeRecord(state: CallState): AuditRecordInput {
  const record: AuditRecordInput = { ...state.record, event: EVENTS[state.operation] };
  const decision = state.decision;
  if (decision !== undefined) {
    record.rules = decision.rules;
    if (decision.policyVersion !== undefined) record.policyVersion = decision.policyVersion;
  }
  const outcome = state.outcome ?? { status: 'completed' };
  if (outcome.status === 'completed' && state.withheld === true && decision !== undefined) {
    record.decision = decision.effect;
    if (decision.code !== undefined) record.code = decision.code;
  } else if (outcome.status === 'completed') {
    const upstreamCode = upstreamErrorCode(state);
    const isError = state.operation === 'tools/call' && (state.result as { isError?: boolean })?.isError === true;
    record.decision = isError
      ? 'error'
      : state.operation === 'elevation/request'
        ? (decision?.effect ?? 'allow')
        : 'allow';
    if (upstreamCode !== undefined) record.code = upstreamCode;
  } else if (outcome.status === 'suspended') {
    record.decision = 'approve';
    record.code = outcome.resume.error.code;
    record.reason ??= outcome.resume.error.message;
  } else {
    const error = outcome.error;
    record.decision = error.code === 'EGRESS_DENIED' ? 'deny' : OUTAGE_CODES.has(error.code) ? 'error' : outcome.endsAs;
    record.code ??= error.code;
    record.reason ??= error.message;
  }
  return record;
}

/** Which store use a step stands for, as the `operation` label of portcullis_store_unavailable_total. */
const STORE_OPERATIONS: Readonly<Record<string, StoreOperation>> = {
  task: 'task-state',
  limit: 'rate-limit',
  'remember-labels': 'labels',
  credential: 'credential',
  elevate: 'approvals',
};

function storeOutage(state: CallState): { operation: StoreOperation; error: GatewayError } | undefined {
  const outcome = state.outcome;
  if (outcome?.status !== 'ended' || outcome.error.code !== 'STORE_UNAVAILABLE') return undefined;
  return { operation: STORE_OPERATIONS[outcome.step] ?? 'pipeline', error: outcome.error };
}

function callOutcome(record: AuditRecordInput): 'ok' | 'tool_error' | 'denied' | 'error' | 'cancelled' {
  if (record.code === 'CANCELLED') return 'cancelled';
  if (record.decision === 'allow') return 'ok';
  if (record.decision === 'deny' || record.decision === 'approve') return 'denied';
  return record.code === undefined ? 'tool_error' : 'error';
}
