export type { RevocationStore } from './types.js';
export { createMemoryRevocationStore, type MemoryRevocationStoreOptions } from './memory-revocation-store.js';
export { createRedisRevocationStore, type RedisRevocationStoreOptions } from './redis-revocation-store.js';
export { createAgentsRouter, type AgentsRouterOptions } from './agents-router.js';
