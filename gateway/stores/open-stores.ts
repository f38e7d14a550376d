/**
 * The shared state of the gateway, in memory (one process) or in Redis (several instances). Every store
 * has the same contract in both forms; which one is used is decided here, once, from the configuration.
 *
 * Redis is opened with `enableOfflineQueue: false` and a bounded retry per command, so an unreachable Redis
 * makes store operations fail fast, and the stores' callers fail closed.
 */
import type { Redis } from 'ioredis';
import { type GatewayConfig, resolveSecretRef, type Environment } from '../config/index.js';
import { createMemoryPinStore, createRedisPinStore, type PinStore } from '../services/integrity/index.js';
import type { RevocationStore } from '../services/revocation/index.js';
import type { TaskStore } from '../services/tasks/index.js';
import { createMemoryRevocationStore } from './memory-revocation-store.js';
import { createMemoryTaskStore } from './memory-task-store.js';
import { createRedisRevocationStore } from './redis-revocation-store.js';
import { createRedisTaskStore } from './redis-task-store.js';
import { guardStore } from './store-guard.js';
import {
  createMemoryRateLimiter,
  createMemorySessionSlots,
  createRedisRateLimiter,
  type RateLimiter,
  type SessionSlots,
} from '../services/ratelimit/index.js';
import { createRedisSessionSlots } from './redis-session-slots.js';
import { createStoreEpoch, type EpochEvent } from './redis-epoch.js';
import { readLostApprovals, rebuildFromAudit } from './redis-rebuild.js';
import type { ApprovalTaskStore, LostApproval } from '../services/approvals/index.js';
import { createMemoryApprovalTaskStore, createRedisApprovalTaskStore } from './approval-task-store.js';
import { createMemoryOnceClaims, createRedisOnceClaims, type OnceClaims } from './once-claims.js';
import { openRedisChannels, type InstanceChannels } from './redis-channels.js';

export interface Stores {
  kind: 'memory' | 'redis';
  /** Redis connection options for components that open their own connections (BullMQ). */
  redisConnection?: { url: string; password?: string; prefix: string };
  /** The shared Redis client (redis stores only). */
  redis?: Redis;
  tasks: TaskStore;
  revocation: RevocationStore;
  pins: PinStore;
  rateLimiter: RateLimiter;
  /** Per-agent session caps: per process in memory, across every instance in Redis. */
  sessionSlots(max: number): SessionSlots;
  /** Approval requests lost with the store's data, as recovered by the last rebuild (newest first). */
  lostApprovals(): Promise<LostApproval[]>;
  /** Single-use claims (sealed request states of 2026-07-28 agents). */
  onceClaims: OnceClaims;
  /**
   * Messages between the instances sharing the store (redis stores only): change events for 2026-07-28
   * listen streams, and retries relayed to the instance holding a call.
   */
  channels?: InstanceChannels;
  /** Calls waiting for an operator, as tasks of 2026-07-28 agents that negotiated the Tasks extension. */
  approvalTasks: ApprovalTaskStore;
  /** Whether the store can answer now (for readiness); read from the connection state, never blocks. */
  status(): { available: boolean; reason?: string };
  /**
   * A round trip to the shared state, for answers that must not mistake an outage for state: throws
   * StoreUnavailableError when it cannot answer in time (memory stores always answer).
   */
  probe(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  env: Environment;
  baseDir: string;
  /** This instance's audit log (`audit.file`): the first source of a rebuild after the store lost its data. */
  auditFile?: string;
  /**
   * Makes durable what this instance's audit sink has accepted so far. A rebuild calls it before it reads
   * `auditFile`, so a record accepted a moment before the loss (an operator's kill switch, an approval
   * request) is in the log it reads; when it fails, the rebuild fails and is retried (the store stays closed).
   */
  flushAudit?: () => Promise<void>;
  /** How long pending approval requests live, to list the lost ones after a rebuild. */
  pendingApprovalTtlSeconds?: number;
  /** The store lost its data, or recovered (for the audit log, logs and metrics). */
  onEpochEvent?: (event: EpochEvent) => void;
}

export async function openStores(config: GatewayConfig['stores'], options: OpenStoresOptions): Promise<Stores> {
  if (config.kind === 'memory') {
    const tasks = createMemoryTaskStore();
    const revocation = createMemoryRevocationStore({ tasks });
    const pins = createMemoryPinStore();
    return {
      kind: 'memory',
      tasks,
      revocation,
      pins,
      rateLimiter: createMemoryRateLimiter(),
      sessionSlots: (max) => createMemorySessionSlots(max),
      lostApprovals: async () => [],
      onceClaims: createMemoryOnceClaims(),
      approvalTasks: createMemoryApprovalTaskStore(),
      status: () => ({ available: true }),
      probe: async () => undefined,
      async close() {
        await Promise.all([tasks.close(), revocation.close(), pins.close()]);
      },
    };
  }
  const password =
    config.password !== undefined ? (await resolveSecretRef(config.password, options)).reveal() : undefined;
  // Loaded only for Redis stores: a gateway on memory stores starts without the client.
  const { Redis } = await import('ioredis');
  const redis: Redis = new Redis(config.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    ...(password !== undefined ? { password } : {}),
  });
  redis.on('error', () => undefined); // reported through failing operations (fail closed), not as crashes
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `cannot connect to Redis at ${redactUrl(config.url)}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  // Own log first, then the other instances' listed logs; a log not written yet holds nothing to restore.
  const logs = [...(options.auditFile !== undefined ? [options.auditFile] : []), ...config.recovery.auditFiles].map(
    (file) => ({ file, optional: true }),
  );
  const epoch = createStoreEpoch({
    redis,
    prefix: config.prefix,
    ...(config.recovery.automatic
      ? {
          rebuild: async () => {
            await options.flushAudit?.();
            return rebuildFromAudit({
              redis,
              prefix: config.prefix,
              logs,
              pendingTtlMs: (options.pendingApprovalTtlSeconds ?? 900) * 1000,
            });
          },
        }
      : {}),
    ...(options.onEpochEvent !== undefined ? { onEvent: options.onEpochEvent } : {}),
  });
  try {
    await epoch.check(true);
  } catch (error) {
    epoch.close();
    redis.disconnect();
    throw new Error(`cannot read the state store's epoch: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  let channels: InstanceChannels;
  try {
    channels = await openRedisChannels({ redis, prefix: config.prefix });
  } catch (error) {
    epoch.close();
    redis.disconnect();
    throw new Error(
      `cannot subscribe to the state store's channels: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const tasks = createRedisTaskStore({ redis, prefix: config.prefix, epoch });
  const revocation = createRedisRevocationStore({ redis, prefix: config.prefix, tasks, epoch });
  const pins = createRedisPinStore({ redis, prefix: config.prefix });
  return {
    kind: 'redis',
    redisConnection: { url: config.url, ...(password !== undefined ? { password } : {}), prefix: config.prefix },
    redis,
    tasks,
    revocation,
    pins,
    rateLimiter: createRedisRateLimiter({ redis, prefix: config.prefix }),
    sessionSlots: (max) => createRedisSessionSlots({ redis, prefix: config.prefix, max }),
    lostApprovals: () => readLostApprovals(redis, config.prefix),
    onceClaims: createRedisOnceClaims({ redis, prefix: config.prefix }),
    channels,
    approvalTasks: createRedisApprovalTaskStore({ redis, prefix: config.prefix }),
    status: () =>
      redis.status === 'ready' ? epoch.status() : { available: false, reason: `redis connection ${redis.status}` },
    probe: async () => void (await guardStore(() => redis.ping())),
    async close() {
      epoch.close();
      await Promise.all([tasks.close(), revocation.close(), pins.close(), channels.close()]);
      redis.disconnect();
    },
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}
