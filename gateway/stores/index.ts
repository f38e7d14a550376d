/**
 * The stores: memory (one process) and Redis (several instances) implementations behind the services'
 * store contracts, and the functions that open them from the configuration.
 */
export { openStores, type OpenStoresOptions, type Stores } from './open-stores.js';
export { openApprovals, type OpenedApprovals } from './open-approvals.js';
export { openGatewayStores } from './open-gateway-stores.js';
export { guardStore, DEFAULT_STORE_TIMEOUT_MS } from './store-guard.js';
export { createMemoryTaskStore, type MemoryTaskStoreOptions } from './memory-task-store.js';
export { createRedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
export { createMemoryRevocationStore, type MemoryRevocationStoreOptions } from './memory-revocation-store.js';
export { createRedisRevocationStore, type RedisRevocationStoreOptions } from './redis-revocation-store.js';
export { createRedisSessionSlots, type RedisSessionSlotsOptions } from './redis-session-slots.js';
export {
  createStoreEpoch,
  epochKey,
  newEpochValue,
  LOST_MESSAGE,
  type EpochEvent,
  type RebuildReport,
  type StoreEpoch,
  type StoreEpochOptions,
} from './redis-epoch.js';
export {
  applyDenyState,
  lostApprovalsKey,
  rebuildFromAudit,
  LOST_TASK_REASON,
  type RebuildOptions,
} from './redis-rebuild.js';
export { createMemoryOnceClaims, createRedisOnceClaims, type OnceClaims } from './once-claims.js';
export {
  openRedisChannels,
  type ChannelMessage,
  type InstanceChannels,
  type RedisChannelsOptions,
} from './redis-channels.js';
export { createMemoryApprovalTaskStore, createRedisApprovalTaskStore } from './approval-task-store.js';
