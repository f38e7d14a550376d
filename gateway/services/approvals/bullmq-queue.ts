/**
 * Approval queue shared by every gateway instance through Redis and BullMQ. Same rules as the memory queue
 * (ticket-state.ts); durable across restarts: a new queue object on the same Redis sees every ticket.
 *
 * Redis layout (`P` = `${prefix}:${queueName}`):
 *   P:state:ticket:{id}   hash: id, body (request + createdAt/expiresAt, JSON, never changes), state (status,
 *                         decisions, grant; JSON), version, status, expiresAt (epoch ms). Purged `retentionSeconds`
 *                         after it was decided or expired.
 *   P:state:call:{hash}   hash: current (ticket id), attempt (counter) - one per call hash
 *   P:state:index         sorted set of ticket ids by creation time (for list)
 *   P:…                   BullMQ's own keys: one delayed job per ticket (job id = ticket id) and the events stream
 *
 * How the rules hold across instances:
 *   - Idempotent request: one Lua script looks up the call hash's current ticket and returns it while it is
 *     pending and unexpired; otherwise it bumps the call's attempt counter and creates ticket `{hash}-{n}`.
 *     The BullMQ job gets the ticket id as job id, so adding it again is ignored by BullMQ.
 *   - Expiry needs no running process: `expiresAt` is stored and every read presents a pending ticket past it
 *     as expired (decide refuses it, request opens a new ticket). The delayed job, when a worker of any
 *     instance picks it up at expiry, only records the status and announces the change.
 *   - Decisions are atomic: read, apply the pure rules, then write with compare-and-set on `version` (a Lua
 *     script); a concurrent decision makes the write fail, and the loser re-reads and re-applies the rules
 *     (then typically gets NOT_PENDING), so two operators can never both win.
 *   - Wake-ups: every change is published as a custom `ticket` event on the BullMQ events stream
 *     (QueueEventsProducer); each instance's QueueEvents reader wakes its local waiters and onChange
 *     listeners. The reader starts from the stream's tail as read at start-up, so nothing published after
 *     start-up is missed; waiters also re-read every `pollIntervalMs` as a safety net.
 *   - Fail closed: every Redis operation has a deadline (`timeoutMs`); any failure is ApprovalError
 *     STORE_UNAVAILABLE. Scripts address keys they compute, so this needs a single Redis (not Cluster).
 */
import {
  DelayedError,
  Queue,
  QueueEvents,
  QueueEventsProducer,
  Worker,
  type ConnectionOptions,
  type Job,
} from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../kernel/index.js';
import {
  DEFAULT_LIST_LIMIT,
  DEFAULT_PROGRESS_INTERVAL_MS,
  DEFAULT_RETENTION_SECONDS,
  MAX_LIST_LIMIT,
  type ApprovalQueueOptions,
} from './memory-queue.js';
import {
  applyDecision,
  currentTicket,
  expireTicket,
  isFinal,
  MAX_PENDING_SECONDS,
  openTicket,
  parseRequest,
} from './ticket-state.js';
import {
  ApprovalError,
  type ApprovalQueue,
  type DecideInput,
  type ElevationRequest,
  type ListFilter,
  type Outcome,
  type Ticket,
  type TicketStatus,
} from './types.js';
import { createTicketWatchers, startWait, type ActiveWait, type WaitOptions } from './wait.js';

export interface BullmqApprovalQueueOptions extends ApprovalQueueOptions {
  /** Redis URL (`redis://…`, `rediss://…`) or ioredis options. */
  connection: string | RedisOptions;
  /** BullMQ queue name (no `:`); default `approvals`. */
  queueName?: string;
  /** Key prefix (no trailing `:` needed); default `portcullis`. Tests use a fresh one each. */
  prefix?: string;
  /** Deadline for each Redis operation; default 2000 ms. */
  timeoutMs?: number;
  /** Waiters re-read their ticket this often in case a change notice was lost; default 5000 ms, 0 disables. */
  pollIntervalMs?: number;
  /** Run a BullMQ worker that records expiries and announces them (default true). */
  expiryWorker?: boolean;
  logger?: Logger;
}

const REQUEST = `
local now = tonumber(ARGV[3])
local current = redis.call('HGET', KEYS[1], 'current')
if current then
  local st = redis.call('HMGET', ARGV[1] .. current, 'status', 'expiresAt')
  if st[1] == 'pending' and tonumber(st[2]) > now then return {current, 0} end
end
local n = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
local id = ARGV[2] .. '-' .. n
while redis.call('EXISTS', ARGV[1] .. id) == 1 do
  n = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
  id = ARGV[2] .. '-' .. n
end
local key = ARGV[1] .. id
redis.call('HSET', key, 'id', id, 'body', ARGV[4], 'state', ARGV[5], 'version', '1', 'status', 'pending', 'expiresAt', ARGV[6])
redis.call('PEXPIREAT', key, ARGV[7])
redis.call('HSET', KEYS[1], 'current', id)
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[8])
redis.call('ZADD', KEYS[2], now, id)
return {id, 1}`;

const COMPARE_AND_SET = `
local version = redis.call('HGET', KEYS[1], 'version')
if not version then return -1 end
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'status', ARGV[3], 'version', tostring(tonumber(version) + 1))
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1`;

const MAX_CAS_ATTEMPTS = 20;
const LIST_PAGE = 100;
const LIST_SCAN_CAP = 5000;

interface StoredRecord {
  ticket: Ticket;
  version: string;
}

interface Parts {
  queue: Queue;
  events: QueueEvents;
  producer: QueueEventsProducer;
  worker?: Worker;
}

export function createBullmqApprovalQueue(options: BullmqApprovalQueueOptions): ApprovalQueue {
  const now = options.now ?? Date.now;
  const queueName = options.queueName ?? 'approvals';
  const prefix = (options.prefix ?? 'portcullis').replace(/:+$/, '');
  if (queueName.includes(':') || queueName === '')
    throw new TypeError('queueName must be non-empty and contain no ":"');
  const timeoutMs = options.timeoutMs ?? 2000;
  const retentionMs = (options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000;
  const base = `${prefix}:${queueName}:state:`;
  const ticketKeyPrefix = `${base}ticket:`;
  const indexKey = `${base}index`;
  const eventsKey = `${prefix}:${queueName}:events`;
  const bullConnection = (
    typeof options.connection === 'string' ? { url: options.connection } : options.connection
  ) as ConnectionOptions;
  const redis =
    typeof options.connection === 'string'
      ? new Redis(options.connection, { maxRetriesPerRequest: 1 })
      : new Redis(withRetryLimit(options.connection));
  const log = (message: string, error: unknown): void => {
    options.logger?.warn({ queue: queueName, err: error instanceof Error ? error.message : String(error) }, message);
  };
  redis.on('error', (error: unknown) => log('approval store connection error', error));

  const listeners = new Set<(ticket: Ticket) => void>();
  const watchers = createTicketWatchers();
  const waits = new Set<ActiveWait>();
  let parts: Promise<Parts> | undefined;
  /** Every BullMQ object made so far, so close() reaches them even if start-up never finished. */
  const created = new Set<{ close(): Promise<void> }>();
  let closed = false;

  async function guard<T>(operation: () => Promise<T>): Promise<T> {
    if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the approval queue is closed');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ApprovalError('STORE_UNAVAILABLE', 'the approval store did not answer in time')),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([operation(), deadline]);
    } catch (error) {
      if (error instanceof ApprovalError || error instanceof TypeError) throw error;
      throw new ApprovalError('STORE_UNAVAILABLE', 'the approval store is unavailable');
    } finally {
      clearTimeout(timer);
    }
  }

  function notifyWatchers(id: string): void {
    watchers.wake(id);
  }

  async function onTicketEvent(id: string): Promise<void> {
    notifyWatchers(id);
    if (listeners.size === 0 || closed) return;
    try {
      const ticket = await guard(() => read(id));
      if (ticket === undefined) return;
      for (const listener of listeners) {
        try {
          listener(ticket.ticket);
        } catch {
          // One listener's failure must not hide the change from the others.
        }
      }
    } catch (error) {
      log('could not read a changed approval request', error);
    }
  }

  /** Starts the BullMQ parts once; a failed start is retried by the next operation. */
  function start(): Promise<Parts> {
    parts ??= (async () => {
      const made: Array<{ close(): Promise<void> }> = [];
      const track = <T extends { close(): Promise<void> }>(part: T): T => {
        made.push(part);
        created.add(part);
        return part;
      };
      try {
        const tail = await redis.xrevrange(eventsKey, '+', '-', 'COUNT', 1);
        const lastEventId = tail[0]?.[0] ?? '0-0';
        if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the approval queue is closed');
        const events = track(new QueueEvents(queueName, { connection: bullConnection, prefix, lastEventId }));
        events.on('error', (error: unknown) => log('approval events reader error', error));
        (events as unknown as { on(event: string, listener: (args: { id?: string }) => void): void }).on(
          'ticket',
          ({ id }) => {
            if (typeof id === 'string') void onTicketEvent(id);
          },
        );
        const producer = track(new QueueEventsProducer(queueName, { connection: bullConnection, prefix }));
        producer.on('error', (error: unknown) => log('approval events producer error', error));
        const queue = track(new Queue(queueName, { connection: bullConnection, prefix }));
        queue.on('error', (error: unknown) => log('approval queue error', error));
        let worker: Worker | undefined;
        if (options.expiryWorker !== false) {
          worker = track(new Worker(queueName, expireJob, { connection: bullConnection, prefix, concurrency: 4 }));
          worker.on('error', (error: unknown) => log('approval expiry worker error', error));
        }
        await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), producer.waitUntilReady()]);
        return { queue, events, producer, ...(worker !== undefined ? { worker } : {}) };
      } catch (error) {
        parts = undefined;
        await Promise.allSettled(
          made.map(async (part) => {
            created.delete(part);
            await part.close();
          }),
        );
        throw error;
      }
    })();
    return parts;
  }

  // Start at once, so this instance's expiry worker and events reader run even before its first operation.
  void start().catch((error: unknown) => log('could not start the approval queue; retrying on next use', error));

  async function read(id: string): Promise<StoredRecord | undefined> {
    const [storedId, body, state, version] = await redis.hmget(ticketKeyPrefix + id, 'id', 'body', 'state', 'version');
    if (
      typeof storedId !== 'string' ||
      typeof body !== 'string' ||
      typeof state !== 'string' ||
      typeof version !== 'string'
    )
      return undefined;
    let ticket: Ticket;
    try {
      const parsedBody = JSON.parse(body) as Omit<Ticket, 'id' | 'status' | 'decisions' | 'grant'>;
      const parsedState = JSON.parse(state) as Pick<Ticket, 'status' | 'decisions' | 'grant'>;
      ticket = { ...parsedBody, id: storedId, ...parsedState };
    } catch {
      throw new ApprovalError('STORE_UNAVAILABLE', 'an approval record is malformed');
    }
    if (
      !Array.isArray(ticket.decisions) ||
      typeof ticket.expiresAt !== 'string' ||
      typeof ticket.callHash !== 'string'
    ) {
      throw new ApprovalError('STORE_UNAVAILABLE', 'an approval record is malformed');
    }
    return { ticket, version };
  }

  function stateJson(ticket: Ticket): string {
    return JSON.stringify({
      status: ticket.status,
      decisions: ticket.decisions,
      ...(ticket.grant !== undefined ? { grant: ticket.grant } : {}),
    });
  }

  /** Writes `next` if nobody changed the ticket since `record` was read: 1 written, 0 lost the race, -1 gone. */
  async function compareAndSet(record: StoredRecord, next: Ticket, at: number): Promise<number> {
    const purgeAt = isFinal(next.status) ? at + retentionMs : Date.parse(next.expiresAt) + retentionMs;
    const result = await redis.eval(
      COMPARE_AND_SET,
      1,
      ticketKeyPrefix + next.id,
      record.version,
      stateJson(next),
      next.status,
      String(purgeAt),
    );
    return Number(result);
  }

  async function announce(id: string, status: TicketStatus): Promise<void> {
    notifyWatchers(id);
    const { producer } = await start();
    await producer.publishEvent({ eventName: 'ticket', id, status });
  }

  async function expireJob(job: Job<{ ticketId: string }>, token?: string): Promise<void> {
    const id = job.data.ticketId;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const record = await read(id);
      if (record === undefined || record.ticket.status !== 'pending') return;
      const at = now();
      const expiresAt = Date.parse(record.ticket.expiresAt);
      const expired = expireTicket(record.ticket, at);
      if (expired === undefined) {
        // Picked up early (clock skew between hosts): come back at the expiry.
        await job.moveToDelayed(Math.max(expiresAt, Date.now()) + 10, token);
        throw new DelayedError();
      }
      const written = await compareAndSet(record, expired, at);
      if (written === -1) return;
      if (written === 1) {
        await announce(id, 'expired');
        return;
      }
    }
  }

  async function decideOnce(id: string, d: DecideInput): Promise<Ticket> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const record = await read(id);
      if (record === undefined) throw new ApprovalError('NOT_FOUND', `no approval request ${id}`);
      const at = now();
      const next = applyDecision(record.ticket, d, options, at);
      if (next === record.ticket) return currentTicket(record.ticket, at);
      const written = await compareAndSet(record, next, at);
      if (written === -1) throw new ApprovalError('NOT_FOUND', `no approval request ${id}`);
      if (written === 0) continue;
      if (isFinal(next.status)) {
        const { queue } = await start();
        await queue
          .remove(id)
          .catch((error: unknown) => log('could not remove the expiry job of a decided request', error));
      }
      await announce(id, next.status);
      return next;
    }
    throw new ApprovalError('STORE_UNAVAILABLE', 'too many concurrent decisions on one approval request');
  }

  return {
    async request(r: ElevationRequest): Promise<Ticket> {
      const request = parseRequest(r);
      return guard(async () => {
        const { queue } = await start();
        const at = now();
        const draft = openTicket('', request, at);
        const { id: _unused, status: _status, decisions: _decisions, ...body } = draft;
        const expiresAtMs = Date.parse(draft.expiresAt);
        const reply = (await redis.eval(
          REQUEST,
          2,
          `${base}call:${request.callHash}`,
          indexKey,
          ticketKeyPrefix,
          request.callHash,
          String(at),
          JSON.stringify(body),
          stateJson(draft),
          String(expiresAtMs),
          String(expiresAtMs + retentionMs),
          String(at - retentionMs - MAX_PENDING_SECONDS * 1000),
        )) as [string, number];
        const [id, created] = reply;
        const record = await read(id);
        if (record === undefined) throw new ApprovalError('STORE_UNAVAILABLE', 'the approval request vanished');
        const ticket = currentTicket(record.ticket, at);
        if (ticket.status === 'pending') {
          // Idempotent: BullMQ ignores a job id it already holds.
          await queue.add(
            'expire',
            { ticketId: id },
            { jobId: id, delay: Math.max(0, expiresAtMs - at), removeOnComplete: true, removeOnFail: true },
          );
        }
        if (Number(created) === 1) {
          await announce(id, ticket.status);
          try {
            options.onCreated?.(ticket);
          } catch {
            // Notifications never block a request.
          }
        }
        return ticket;
      });
    },

    async wait(id: string, o: WaitOptions): Promise<Outcome> {
      await guard(() => start());
      const active = startWait(
        {
          get: async (ticketId) => {
            const record = await guard(() => read(ticketId));
            return record === undefined ? undefined : currentTicket(record.ticket, now());
          },
          subscribe: watchers.subscribe,
          now,
        },
        id,
        o,
        {
          progressIntervalMs: options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
          pollIntervalMs: options.pollIntervalMs ?? 5000,
        },
      );
      waits.add(active);
      try {
        return await active.promise;
      } finally {
        waits.delete(active);
      }
    },

    decide(id: string, d: DecideInput): Promise<Ticket> {
      return guard(() => decideOnce(id, d));
    },

    async get(id: string): Promise<Ticket | undefined> {
      const record = await guard(() => read(id));
      return record === undefined ? undefined : currentTicket(record.ticket, now());
    },

    list(filter: ListFilter = {}): Promise<Ticket[]> {
      return guard(async () => {
        const at = now();
        const limit = Math.min(filter.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
        const out: Ticket[] = [];
        for (let offset = 0; offset < LIST_SCAN_CAP && out.length < limit; offset += LIST_PAGE) {
          const ids = await redis.zrevrange(indexKey, offset, offset + LIST_PAGE - 1);
          if (ids.length === 0) break;
          const records = await Promise.all(ids.map((id) => read(id)));
          const gone: string[] = [];
          for (const [i, record] of records.entries()) {
            if (record === undefined) {
              gone.push(ids[i]!);
              continue;
            }
            const ticket = currentTicket(record.ticket, at);
            if (filter.status !== undefined && ticket.status !== filter.status) continue;
            if (filter.agentId !== undefined && ticket.agentId !== filter.agentId) continue;
            if (filter.taskId !== undefined && ticket.taskId !== filter.taskId) continue;
            out.push(ticket);
            if (out.length >= limit) break;
          }
          if (gone.length > 0) {
            await redis.zrem(indexKey, ...gone);
            offset -= gone.length;
          }
        }
        return out;
      });
    },

    onChange(listener: (ticket: Ticket) => void): () => void {
      listeners.add(listener);
      if (!closed) void start().catch((error: unknown) => log('could not start the approval events reader', error));
      return () => listeners.delete(listener);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const active of [...waits])
        active.cancel(new ApprovalError('STORE_UNAVAILABLE', 'the approval queue closed'));
      listeners.clear();
      watchers.clear();
      // Bounded: closing BullMQ objects whose Redis is gone must not hang the shutdown.
      await settleWithin(Promise.allSettled([...created].map((part) => part.close())), Math.max(timeoutMs, 1000) * 2);
      created.clear();
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The caller's Redis options with one retry per request (a store outage surfaces fast, and fails closed). */
function withRetryLimit(connection: RedisOptions) {
  // ioredis declares `replyMapping` as possibly undefined in RedisOptions but not in its constructor: pass
  // it on only when set.
  const { replyMapping, ...rest } = connection;
  return { ...rest, maxRetriesPerRequest: 1, ...(replyMapping !== undefined ? { replyMapping } : {}) };
}
