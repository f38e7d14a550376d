/** The gateway configuration: schema, loading (parsed once at the edge) and secret references. */
export { ConfigError, loadConfigFile, parseConfigText, type LoadedConfig } from './load.js';
export { gatewayConfigJsonSchema } from './json-schema.js';
export {
  GatewayConfigSchema,
  type ApprovalsConfig,
  type BackendCredentialConfig,
  type GatewayConfig,
} from './schema.js';
export { type Environment, resolveSecretRef } from './secrets.js';
export { assertStateOutsidePackages, stateLocationProblem } from './state-location.js';
