/** The shared kernel every layer may import: errors, principal, secrets, canonical JSON, logging. */
export { isSecret, Secret } from './secret.js';
export { type Authenticator, AuthError, type AuthRequest, type Principal } from './principal.js';
export {
  CALLER_ERROR_CODES,
  GatewayError,
  JSON_RPC,
  httpStatusOf,
  isErrorCode,
  isStoreUnavailable,
  jsonRpcCodeOf,
  toGatewayError,
  type ErrorCode,
  type GatewayErrorCode,
} from './errors.js';
export { createLogger, type Logger } from './log.js';
export { canonicalHash, canonicalJson, isPlainJson, sha256Hex, someJsonKey } from './canonical-json.js';
export { jsonByteLength, keepJson, messageJson, messageJsonBytes, type JsonParts } from './kept-json.js';
export { isLoopbackAddress, parseHostHeader, type ParsedHost } from './host.js';
export { VERSION } from './version.js';
export { closeAll, openAll, type Closer } from './lifecycle.js';
export { createDrain, drainCalls, type Drain } from './drain.js';
export { createActiveCalls, type ActiveCalls } from './active-calls.js';
