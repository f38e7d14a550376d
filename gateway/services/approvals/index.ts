/** Elevation requests, their queues (memory, BullMQ on Redis), grants and the webhook notifier. */
export * from './types.js';
export { callHash, canonicalize, isCallHash, type CallFacts } from './call-hash.js';
export {
  applyDecision,
  currentTicket,
  ElevationRequestSchema,
  DEFAULT_MAX_GRANT_SECONDS,
  DEFAULT_MAX_GRANT_USES,
  type DecisionRules,
} from './ticket-state.js';
export { createMemoryApprovalQueue, type ApprovalQueueOptions } from './memory-queue.js';
import type { BullmqApprovalQueueOptions } from './bullmq-queue.js';
import type { ApprovalQueue } from './types.js';

export type { BullmqApprovalQueueOptions } from './bullmq-queue.js';

/** The BullMQ queue's factory, loaded on demand: a gateway without Redis stores never loads BullMQ. */
export async function loadBullmqApprovalQueue(): Promise<(options: BullmqApprovalQueueOptions) => ApprovalQueue> {
  return (await import('./bullmq-queue.js')).createBullmqApprovalQueue;
}
export {
  createMemoryGrantStore,
  createRedisGrantStore,
  grantFromTicket,
  type MemoryGrantStoreOptions,
  type RedisGrantStoreOptions,
} from './grants.js';
export {
  createWebhookNotifier,
  summarizeRequest,
  type ApprovalRequestSummary,
  type WebhookNotifier,
  type WebhookNotifierOptions,
} from './webhook.js';
export { isOwner, traceLink } from './operator-rules.js';
export { startPendingGauge } from './pending-gauge.js';
export type {
  ApprovalTask,
  ApprovalTaskEnd,
  ApprovalTaskError,
  ApprovalTaskStatus,
  ApprovalTaskStore,
} from './approval-tasks.js';
