export {
  createMetrics,
  type ApprovalOutcome,
  type DecisionEffect,
  type Metrics,
  type MetricsOptions,
  type PolicyReloadResult,
  type StoreOperation,
  type ToolCallOutcome,
  type PipelineStepOutcome,
} from './metrics.js';
export { createBoundedLabel, OVERFLOW_LABEL, type BoundedLabel } from './bounded-label.js';
