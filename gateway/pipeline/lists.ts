/**
 * The pipeline as data: for each operation, the ordered list of steps it runs (docs/design.md section 2). The
 * steps get their dependencies here, once; `runSteps` runs a list over one CallState.
 */
import type { ActiveCalls } from '../kernel/index.js';
import type { AuditSink } from '../services/audit/index.js';
import type { Catalog } from '../services/catalog/index.js';
import type { CredentialProvider } from '../services/credentials/index.js';
import type { Metrics } from '../services/metrics/index.js';
import type { RateLimiter } from '../services/ratelimit/index.js';
import type { TaskStateSource } from '../services/tasks/index.js';
import type { Operation } from './call-state.js';
import type { PolicySource } from './decide.js';
import type { EgressProvider } from './egress.js';
import type { Elevation } from './elevate.js';
import type { Admission } from './admission.js';
import type { Step } from './step.js';
import {
  admitStep,
  answerStep,
  credentialStep,
  decideCatalogStep,
  decideStep,
  elevateStep,
  invokeStep,
  limitStep,
  prepareStep,
  recordIntentStep,
  recordStep,
  releaseSlotStep,
  rememberLabelsStep,
  resolveCompletionStep,
  resolvePromptStep,
  resolveResourceStep,
  resolveToolStep,
  taskStateStep,
} from './steps/index.js';

export interface PipelineDeps {
  catalog: Catalog;
  policy: PolicySource;
  egress: EgressProvider;
  audit: AuditSink;
  /** Approval queue and grants; without it, calls that need approval are refused (APPROVAL_REQUIRED). */
  elevation?: Elevation;
  /** Backend credentials; without it, backends get no credential from the gateway. */
  credentials?: CredentialProvider;
  metrics?: Metrics;
  /** The task's current state; without it, the task the credential names is taken as live. */
  tasks?: TaskStateSource;
  /** Counters for policy rate limits; without it, a call under a rate-limited rule is refused. */
  rateLimiter?: RateLimiter;
  /** Wait for the outcome record to be durable before answering. */
  flushAuditBeforeResponse: boolean;
  /**
   * Per-connector concurrency caps and bounded queues for tool calls (`connectorLimits`); without it,
   * calls are not limited.
   */
  admission?: Admission;
  /** Upper bound for one call, whatever the connector's own timeouts. */
  callTimeoutMs: number;
  /** Counts each run while it lasts (what the audit file reads to decide how it writes). */
  activeCalls?: ActiveCalls;
  now?: () => number;
  onError?: (error: unknown, where: string) => void;
}

export function buildStepLists(deps: PipelineDeps): Record<Operation, readonly Step[]> {
  const now = deps.now ?? Date.now;
  const onError = deps.onError;
  const task = deps.tasks !== undefined ? [taskStateStep(deps.tasks)] : [];
  const toolTask = deps.tasks !== undefined ? [taskStateStep(deps.tasks, { countCalls: true })] : [];
  const decide = decideStep({
    policy: deps.policy,
    now,
    ...(deps.metrics !== undefined ? { metrics: deps.metrics } : {}),
  });
  const recordIntent = recordIntentStep(deps.audit, onError);
  const invoke = invokeStep({
    egress: deps.egress,
    callTimeoutMs: deps.callTimeoutMs,
    ...(deps.metrics !== undefined ? { metrics: deps.metrics } : {}),
    ...(onError !== undefined ? { onError } : {}),
  });
  const record = recordStep({
    audit: deps.audit,
    flushAuditBeforeResponse: deps.flushAuditBeforeResponse,
    ...(deps.metrics !== undefined ? { metrics: deps.metrics } : {}),
    ...(onError !== undefined ? { onError } : {}),
  });
  const credential = deps.credentials !== undefined ? [credentialStep(deps.credentials)] : [];
  const admit = deps.admission !== undefined ? [admitStep(deps.admission), releaseSlotStep()] : [];
  const catalogDecide = decideCatalogStep(deps.policy, deps.metrics);
  const catalogElevate = elevateStep(deps.elevation);
  return {
    'tools/call': [
      ...toolTask,
      resolveToolStep(deps.catalog, deps.policy),
      prepareStep(),
      decide,
      limitStep(deps.rateLimiter),
      elevateStep(deps.elevation),
      ...admit,
      ...credential,
      recordIntent,
      invoke,
      rememberLabelsStep(deps.tasks, onError),
      record,
    ],
    'elevation/request': [
      resolveToolStep(deps.catalog, deps.policy),
      prepareStep(),
      decide,
      answerStep('allowed'),
      elevateStep(deps.elevation, { askOnly: true }),
      answerStep('granted'),
      record,
    ],
    'resources/read': [
      ...task,
      resolveResourceStep(deps.catalog),
      catalogDecide,
      catalogElevate,
      recordIntent,
      invoke,
      record,
    ],
    'resources/subscribe': [
      ...task,
      resolveResourceStep(deps.catalog),
      catalogDecide,
      catalogElevate,
      recordIntent,
      invoke,
      record,
    ],
    'prompts/get': [
      ...task,
      resolvePromptStep(deps.catalog),
      catalogDecide,
      catalogElevate,
      recordIntent,
      invoke,
      record,
    ],
    'completion/complete': [...task, resolveCompletionStep(deps.catalog), catalogDecide, recordIntent, invoke, record],
  };
}
