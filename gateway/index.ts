/** Programmatic API: start a gateway in-process (tests, embedding) and load its configuration. */
export { startGateway, startStdioGateway, VERSION, type RunningGateway, type StartOptions } from './main.js';
export {
  loadConfigFile,
  parseConfigText,
  ConfigError,
  GatewayConfigSchema,
  type GatewayConfig,
  type LoadedConfig,
} from './config/index.js';
export { GatewayError, type GatewayErrorCode } from './kernel/index.js';
