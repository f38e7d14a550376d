/** Credentials: signing keys, the call-credential issuer, backend credential injection, outbound hygiene. */
export { createOwnTokenVerifier, type OwnTokenClaims, type OwnTokenVerifier } from './own-token-verifier.js';
export { createCredentialIssuer, type CredentialIssuer } from './issuer.js';
export { type CredentialInjector, withOutboundHygiene } from './outbound.js';
export {
  contextualInjector,
  createBackendCredentials,
  withCallCredential,
  type CredentialProvider,
} from './backend-credentials.js';
export { type KeySet, loadKeySet, openDevKeySet } from './keys.js';
export { openCredentials } from './open-credentials.js';
export { openStateSealingKey } from './state-key.js';
