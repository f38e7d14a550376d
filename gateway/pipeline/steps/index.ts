/** The pipeline's steps, one module each; `../lists.ts` orders them per operation. */
export { taskStateStep } from './task-state.js';
export {
  resolveToolStep,
  resolveResourceStep,
  resolvePromptStep,
  resolveCompletionStep,
  EMPTY_COMPLETION,
} from './resolve.js';
export { prepareStep } from './prepare.js';
export { decideStep, denial, decisionAttributes, type DecideOptions } from './decide.js';
export { limitStep } from './limit.js';
export { elevateStep } from './elevate.js';
export { admitStep, releaseSlotStep } from './admit.js';
export { credentialStep } from './credential.js';
export { recordIntentStep } from './record-intent.js';
export { invokeStep, type InvokeOptions } from './invoke.js';
export { rememberLabelsStep } from './remember-labels.js';
export { recordStep, type RecordOptions } from './record.js';
export { answerStep } from './answer.js';
export { decideCatalogStep } from './decide-catalog.js';
