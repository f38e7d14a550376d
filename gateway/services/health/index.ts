export {
  checkReadiness,
  type ComponentHealth,
  type ConnectorHealthSource,
  type ReadinessReport,
  type ReadinessSources,
} from './readiness.js';
