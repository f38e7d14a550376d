/** The tool-call pipeline: resolve, decide, elevate, credential, invoke, record. */
export {
  type CallContext,
  catalogContextFor,
  createPipeline,
  type EgressProvider,
  type Pipeline,
  REQUEST_ELEVATION_TOOL,
} from './pipeline.js';
export { baselineRules } from './baseline-rules.js';
export { createAdmission, type Admission, type AdmissionOptions } from './admission.js';
