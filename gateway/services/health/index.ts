export {
  checkReadiness,
  type ComponentHealth,
  type ConnectorHealthSource,
  type ReadinessReport,
  type ReadinessSources,
} from './readiness.js';
export { connectorHealth } from './connector-health.js';
export { gatewayReadiness } from './gateway-readiness.js';
