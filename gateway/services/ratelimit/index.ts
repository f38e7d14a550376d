/** Rate limits per agent and tool, in memory or atomic in Redis. */
export { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from './rate-limiter.js';
