/** The I/O side of policy: files, hot reload, shadow mode, schema output. The engine itself is in policies/. */
export {
  createPolicyStore,
  type PolicyLoadError,
  type PolicyStatus,
  type PolicyStore,
  type PolicyStoreOptions,
  type ReloadResult,
  type ShadowDecisionKind,
  type ShadowDecisionListener,
} from './store.js';
export { readPolicyFile, readPolicyFiles, readPolicyTests, siblingTestsFile, type PolicyTestSuite } from './load.js';
export { writePolicyJsonSchema } from './json-schema-file.js';
export { policyEventRecorder, type PolicyEventListeners } from './policy-events.js';
export {
  unknownPolicyReferences,
  knownNamesFromConfig,
  type KnownNames,
  type PolicyReferenceProblem,
} from './references.js';
export {
  baselineRules,
  compileGatewayDestinations,
  gatewayDestinationRules,
  GATEWAY_DESTINATIONS,
  type BaselineRule,
} from './baseline-rules.js';
export { openPolicy, warnUnknownReferences, type OpenedPolicy } from './open-policy.js';
