/**
 * elevate: a call the policy marks `approve` goes to the approval queue. A grant lets the run go on
 * (elevated); a denial or expiry ends it; a request still pending suspends it with `elevate` as the resume
 * point, so the same call continues here once an operator decided. Without an approval queue configured,
 * such a call is refused (APPROVAL_REQUIRED, fail closed).
 */
import { GatewayError, canonicalHash } from '../../kernel/index.js';
import {
  ATTR_PORTCULLIS_APPROVAL_ID,
  ATTR_PORTCULLIS_DECISION,
  injectTraceparent,
  setSpanAttributes,
  spanNames,
} from '../../services/telemetry/index.js';
import type { CallState } from '../call-state.js';
import { elevate, type Elevation } from '../elevate.js';
import type { HttpOperation, JsonObject } from '../../../connectors/contract.js';
import type { Step } from '../step.js';

export function elevateStep(elevation: Elevation | undefined, options: { askOnly?: boolean } = {}): Step {
  return {
    name: 'elevate',
    endsAs: 'approve',
    when: (state) => state.decision?.effect === 'approve',
    span: { name: spanNames.approvalWait },
    async run(state, span) {
      const decision = state.decision!;
      if (elevation === undefined) {
        return {
          end: new GatewayError('APPROVAL_REQUIRED', `${decision.reason} (operator approval is not configured)`),
        };
      }
      const subject = elevationSubject(state);
      const traceparent = injectTraceparent({} as Record<string, string>)['traceparent'];
      const result = await elevate(elevation, {
        principal: state.ctx.principal,
        task: state.ctx.task,
        tool: subject.name,
        ...(subject.operation !== undefined ? { operation: subject.operation } : {}),
        args: subject.args,
        argsHash: state.record.argsHash ?? canonicalHash(subject.args),
        decision,
        signal: state.ctx.signal,
        ...(options.askOnly === true || state.ctx.deferApproval === true ? { askOnly: true } : {}),
        ...(state.ctx.onProgress !== undefined ? { onProgress: state.ctx.onProgress } : {}),
        ...(traceparent !== undefined ? { traceparent } : {}),
        ...(state.ctx.justification !== undefined ? { justification: state.ctx.justification } : {}),
      });
      const approvalId = 'granted' in result ? result.granted.ticketId : result.approvalId;
      setSpanAttributes(span, {
        ...(approvalId !== undefined ? { [ATTR_PORTCULLIS_APPROVAL_ID]: approvalId } : {}),
        [ATTR_PORTCULLIS_DECISION]: 'granted' in result ? 'approved' : result.refused.code,
        ...('granted' in result ? { 'portcullis.approval.approvers': [...result.granted.approvers] } : {}),
      });
      if (approvalId !== undefined) state.record.approvalId = approvalId;
      if ('refused' in result) {
        if (result.refused.code === 'APPROVAL_PENDING') {
          return {
            suspend: {
              step: 'elevate',
              reason: 'approval-pending',
              error: result.refused,
              ...(approvalId !== undefined ? { approvalId } : {}),
            },
          };
        }
        return { end: result.refused };
      }
      state.record.detail = { grantScope: result.granted.scope, approvers: result.granted.approvers };
      state.elevated = true;
      return undefined;
    },
  };
}

/**
 * What an operator approves: a tool call (exposed name, exact operation and arguments), or a resource or
 * prompt (named `resource:<canonical URI>` / `prompt:<exposed name>`, with the prompt's arguments).
 */
function elevationSubject(state: CallState): {
  name: string;
  args: JsonObject;
  operation?: HttpOperation;
} {
  const target = state.target!;
  if (target.kind === 'tool') {
    const prepared = state.prepared!;
    return {
      name: target.tool.exposedName,
      args: prepared.args,
      ...(prepared.operation !== undefined ? { operation: prepared.operation } : {}),
    };
  }
  if (target.kind === 'resource') return { name: `resource:${target.uri}`, args: {} };
  return { name: `prompt:${target.exposedName}`, args: state.args };
}
