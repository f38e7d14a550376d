/** The gateway configuration: schema, loading (parsed once at the edge) and secret references. */
export { ConfigError, loadConfigFile, parseConfigText, type ConfigProblem, type LoadedConfig } from './load.js';
export { gatewayConfigJsonSchema } from './json-schema.js';
export {
  GatewayConfigSchema,
  type ApprovalsConfig,
  type BackendCredentialConfig,
  type GatewayConfig,
  type LimitsConfig,
} from './schema.js';
export { type Environment, resolveSecretRef } from './secrets.js';
export { assertStateOutsidePackages, stateLocationProblem } from './state-location.js';
export { assertConfigUsable, deploymentProblems, documentProblems, DEPLOYMENT_CHECKS } from './checks.js';
