/**
 * admit: a slot on the call's connector (per-connector concurrency cap and bounded queue, see
 * ../admission.ts), taken after the decision and before anything is minted or sent. A full queue ends the
 * run at once with OVERLOADED; a call cancelled while it waits ends as CANCELLED. The slot is held until
 * the run ends: the closing `release-slot` step gives it back whatever happened after admission.
 */
import { GatewayError } from '../../kernel/index.js';
import type { Admission } from '../admission.js';
import { connectorOf } from '../call-state.js';
import type { Step } from '../step.js';

export function admitStep(admission: Admission): Step {
  return {
    name: 'admit',
    endsAs: 'error',
    async run(state) {
      const connector = connectorOf(state).id;
      const release = await admission.acquire(connector, state.ctx.signal);
      if (release === undefined) {
        return {
          end: state.ctx.signal.aborted
            ? new GatewayError('CANCELLED', 'the call was cancelled while it waited for a slot')
            : new GatewayError('OVERLOADED', `too many calls to ${connector} right now; retry shortly`),
        };
      }
      state.releaseSlot = release;
      return undefined;
    },
  };
}

/** Closing step: gives the admitted slot back once the run has ended (completed, ended or suspended). */
export function releaseSlotStep(): Step {
  return {
    name: 'release-slot',
    closing: true,
    when: (state) => state.releaseSlot !== undefined,
    run(state) {
      const release = state.releaseSlot;
      state.releaseSlot = undefined;
      release?.();
      return undefined;
    },
  };
}
