/**
 * `portcullis/verify`: what a backend needs to check a Portcullis call credential. Depends only on jose
 * (express types only), so backends can use it without the gateway's other dependencies loading.
 */
export {
  CallVerificationError,
  createCallVerifier,
  rawPath,
  scopeFor,
  type CallOperation,
  type CallVerificationErrorCode,
  type CallVerifier,
  type CallVerifierOptions,
} from './call-verifier.js';
export { CALL_CREDENTIAL_TYP, callCredentialAgent, type CallCredentialClaims } from './claims.js';
export { CLOCK_TOLERANCE_SECONDS, SCOPE_PATTERN, TASK_TOKEN_TYP } from './claims.js';
export { isJoseVerdict } from './jose-verdict.js';
