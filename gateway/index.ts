/** Programmatic API: start a gateway in-process (tests, embedding) and load its configuration. */
export { startGateway, startStdioGateway, VERSION, type RunningGateway, type StartOptions } from './main.js';
export { loadConfigFile, parseConfigText, ConfigError, type LoadedConfig } from './config/load.js';
export { GatewayConfigSchema, type GatewayConfig } from './config/schema.js';
export { GatewayError, type GatewayErrorCode } from './errors.js';
