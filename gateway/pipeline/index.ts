/** The call pipeline: ordered step lists over one CallState, run by one runner (docs/design.md section 2). */
export { createGatewayPipeline } from './gateway-pipeline.js';
export { createPipeline, errorResult, REQUEST_ELEVATION_TOOL, type ListedTool, type Pipeline } from './pipeline.js';
export type { PipelineDeps } from './lists.js';
export type { CallContext, CallState, McpConnection, Operation, ResumePoint, RunOutcome } from './call-state.js';
export { catalogContextFor, type EgressProvider, type EgressScope } from './egress.js';
export { runSteps, type RunOptions, type StepMetrics } from './runner.js';
export type { Step, StepOutcome } from './step.js';
export type { Visibility } from './visibility.js';
export { createAdmission, type Admission, type AdmissionOptions } from './admission.js';
