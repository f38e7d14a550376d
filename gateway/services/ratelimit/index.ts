/** Rate limits per agent and tool, and per-agent session caps: in memory, or atomic in Redis. */
export { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from './rate-limiter.js';
export { createMemorySessionSlots, type SessionSlot, type SessionSlots } from './session-slots.js';
