// Everything here is on @opentelemetry/api; the SDK (sdk.ts) is imported only by the composition root
// (gateway/compose.ts), so that nothing else loads it.
export * from './attributes.js';
export { REDACTED, isSecretAttributeKey, redactAttributes } from './redact.js';
export {
  TRACER_NAME,
  currentTraceId,
  extractTraceparentFromMeta,
  getTracer,
  injectTraceparent,
  markSpanError,
  setSpanAttributes,
  traceHeaders,
  withSpan,
  type WithSpanOptions,
} from './spans.js';
export { openTaskTrace, startTaskSpan, taskTraceContext, type TaskIdentity } from './task-span.js';
