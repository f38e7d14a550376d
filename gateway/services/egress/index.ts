/**
 * The egress guard: every outbound HTTP request of every connector goes through `createEgressGuard`.
 * See docs/egress.md for what it enforces and how it is configured.
 */
export { classifyAddress, embeddedIPv4, parseHostLiteral } from './address.js';
export {
  createGuardedConnect,
  resolveAndCheck,
  type AddressDecider,
  type CheckedAddress,
  type ConnectTarget,
  type Lookup,
  type LookupAddress,
} from './connect.js';
export { EgressDeniedError, EgressError, isEgressError, type EgressDenial, type EgressErrorCode } from './errors.js';
export {
  createEgressGuard,
  preloadEgressClient,
  type EgressGuard,
  type EgressGuardOptions,
  type EgressHop,
  type EgressScope,
} from './guard.js';
export { nextHop, REDIRECT_STATUSES, type HopRequest } from './redirect.js';
export { createGatewayEgress, openGatewayEgress, type GatewayEgress, type GatewayEgressOptions } from './setup.js';
export { egressDenialRecorder } from './denial-recorder.js';
