/**
 * credential: what the backend gets to authenticate the gateway's request (a just-in-time call credential
 * or an injected static secret). The credential itself never enters the state; only its `jti` is recorded.
 */
import type { CredentialProvider } from '../../services/credentials/index.js';
import { ATTR_PORTCULLIS_CREDENTIAL_JTI, setSpanAttributes } from '../../services/telemetry/index.js';
import { toolOf } from '../call-state.js';
import type { Step } from '../step.js';

export function credentialStep(provider: CredentialProvider): Step {
  return {
    name: 'credential',
    endsAs: 'error',
    async run(state) {
      const operation = state.prepared?.operation;
      state.credential = await provider({
        principal: state.ctx.principal,
        task: state.ctx.task,
        tool: toolOf(state),
        ...(operation !== undefined ? { operation: { method: operation.method, path: operation.path } } : {}),
        elevated: state.elevated,
      });
      if (state.credential.jti !== undefined) {
        state.record.jti = state.credential.jti;
        setSpanAttributes(state.span, { [ATTR_PORTCULLIS_CREDENTIAL_JTI]: state.credential.jti });
      }
      return undefined;
    },
  };
}
