/**
 * Session caps shared by every instance through Redis: `{prefix}sessions:agent:{id}` is a sorted set of the
 * agent's slots (member `instance:uuid`, score = lease expiry, epoch ms). Taking a slot is one script that
 * drops expired leases, counts and adds, so simultaneous opens on any number of instances never exceed the
 * cap. A slot is a lease: the instance holding it renews it while the session is open, so the slots of an
 * instance that died free themselves after `leaseMs`, and renewing re-adds slots a store lost with its data.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SessionSlot, SessionSlots } from '../services/ratelimit/index.js';
import { DEFAULT_STORE_TIMEOUT_MS, guardStore } from './store-guard.js';

export interface RedisSessionSlotsOptions {
  redis: Redis;
  prefix: string;
  max: number;
  /** How long a slot lives without renewal (default 60 s); it is renewed every third of that. */
  leaseMs?: number;
  now?: () => number;
  timeoutMs?: number;
}

const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export function createRedisSessionSlots(options: RedisSessionSlotsOptions): SessionSlots {
  const { redis, prefix, max } = options;
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const instance = randomUUID();
  const key = (agentId: string): string => `${prefix}sessions:agent:${agentId}`;
  /** Slots this instance holds: member -> agent. */
  const held = new Map<string, string>();

  const renew = setInterval(() => {
    if (held.size === 0) return;
    const expiry = String(now() + leaseMs);
    const batch = redis.multi();
    for (const [member, agentId] of held) batch.zadd(key(agentId), expiry, member).pexpire(key(agentId), leaseMs);
    // A failed renewal is retried on the next tick; the lease outlives two missed ticks.
    void guardStore(() => batch.exec(), timeoutMs).catch(() => undefined);
  }, leaseMs / 3);
  renew.unref();

  return {
    async take(agentId) {
      const member = `${instance}:${randomUUID()}`;
      const at = now();
      const taken = await guardStore(
        () => redis.eval(TAKE, 1, key(agentId), String(at), String(at + leaseMs), member, String(max), String(leaseMs)),
        timeoutMs,
      );
      if (taken !== 1) return undefined;
      held.set(member, agentId);
      let released = false;
      const slot: SessionSlot = {
        release() {
          if (released) return;
          released = true;
          held.delete(member);
          // Best effort: a slot that could not be removed expires with its lease.
          void guardStore(() => redis.zrem(key(agentId), member), timeoutMs).catch(() => undefined);
        },
      };
      return slot;
    },
    async close() {
      clearInterval(renew);
      const slots = [...held];
      held.clear();
      if (slots.length === 0) return;
      const batch = redis.multi();
      for (const [member, agentId] of slots) batch.zrem(key(agentId), member);
      await guardStore(() => batch.exec(), timeoutMs).catch(() => undefined);
    },
  };
}
