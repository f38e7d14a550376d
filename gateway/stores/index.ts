/**
 * The stores: memory (one process) and Redis (several instances) implementations behind the services'
 * store contracts, and the functions that open them from the configuration.
 */
export { openStores, type Stores } from './open-stores.js';
export { openApprovals } from './open-approvals.js';
export { guardStore, DEFAULT_STORE_TIMEOUT_MS } from './store-guard.js';
export { createMemoryTaskStore, type MemoryTaskStoreOptions } from './memory-task-store.js';
export { createRedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
export { createMemoryRevocationStore, type MemoryRevocationStoreOptions } from './memory-revocation-store.js';
export { createRedisRevocationStore, type RedisRevocationStoreOptions } from './redis-revocation-store.js';
export { createMemoryOnceClaims, createRedisOnceClaims, type OnceClaims } from './once-claims.js';
