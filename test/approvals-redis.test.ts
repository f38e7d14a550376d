/**
 * The approval contract against BullMQ and a real Redis (the test run's own, see helpers/redis.ts), plus what only a shared store
 * can show: several instances, restarts, cross-instance races, expiry with no process running, and failing
 * closed when Redis is unreachable. Every test uses its own key prefix and deletes it afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  createBullmqApprovalQueue,
  type BullmqApprovalQueueOptions,
} from '../gateway/services/approvals/bullmq-queue.js';
import {
  elevationRequest,
  manualClock,
  nextChange,
  registerApprovalQueueContract,
  registerGrantStoreContract,
  TEST_TIMEOUT_MS,
} from '../gateway/services/approvals/contract.test-suite.js';
import { createRedisGrantStore, grantFromTicket } from '../gateway/services/approvals/grants.js';
import { ApprovalError, type ApprovalQueue, type Ticket } from '../gateway/services/approvals/types.js';
import { REDIS_URL } from './helpers/redis.js';

const admin = new Redis(REDIS_URL);
after(() => admin.quit());

async function deletePrefix(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

/** A namespace for one test: queues opened through it share Redis keys; cleanup closes and deletes. */
function namespace(): {
  open(options?: Partial<BullmqApprovalQueueOptions>): ApprovalQueue;
  cleanup(): Promise<void>;
  prefix: string;
} {
  const prefix = `test-approvals-${randomUUID()}`;
  const opened: ApprovalQueue[] = [];
  return {
    prefix,
    open(options = {}) {
      const queue = createBullmqApprovalQueue({ connection: REDIS_URL, prefix, queueName: 'approvals', ...options });
      opened.push(queue);
      return queue;
    },
    async cleanup() {
      await Promise.all(opened.map((q) => q.close()));
      await deletePrefix(prefix);
    },
  };
}

registerApprovalQueueContract('bullmq queue', async () => {
  const ns = namespace();
  return { open: (options) => ns.open(options), cleanup: () => ns.cleanup() };
});

registerGrantStoreContract('redis grants', async () => {
  const prefix = `test-grants-${randomUUID()}:`;
  return {
    open: (options) => createRedisGrantStore({ redis: admin, prefix, ...options }),
    cleanup: () => deletePrefix(prefix),
  };
});

const forever = { signal: new AbortController().signal, timeoutMs: 30_000 };

test(
  'two instances: a waiter on A resolves when B decides (events only, no polling)',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const ns = namespace();
    try {
      const a = ns.open({ pollIntervalMs: 0 });
      const b = ns.open({ pollIntervalMs: 0 });
      const ticket = await a.request(elevationRequest());
      const seenOnA = nextChange(a, (t) => t.id === ticket.id && t.status === 'approved');
      const waiting = a.wait(ticket.id, forever);
      const decided = await b.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok', scope: 'task-tool' });
      const outcome = await waiting;
      assert.equal(outcome.status, 'approved');
      assert.deepEqual(outcome.ticket, decided);
      assert.deepEqual(await seenOnA, decided);
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'two instances: B sees a request made on A, and an N-approver rule completes across them',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const ns = namespace();
    try {
      const a = ns.open();
      const b = ns.open();
      const seenOnB = nextChange(b, (t) => t.status === 'pending');
      const ticket = await a.request(elevationRequest({ requiredApprovers: 2 }));
      assert.equal((await seenOnB).id, ticket.id);
      assert.equal((await a.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' })).status, 'pending');
      await assert.rejects(
        b.decide(ticket.id, { approve: true, approver: 'owner-of-agent-1', reason: 'mine' }),
        (e: unknown) => e instanceof ApprovalError && e.code === 'SELF_APPROVAL',
      );
      const approved = await b.decide(ticket.id, { approve: true, approver: 'op-2', reason: 'ok' });
      assert.equal(approved.status, 'approved');
      assert.deepEqual(grantFromTicket(approved).approvers, ['op-1', 'op-2']);
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'idempotent across instances: the same call asked on A and B at once gets one ticket',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const ns = namespace();
    try {
      const a = ns.open();
      const b = ns.open();
      const request = elevationRequest();
      const tickets = await Promise.all([
        a.request(request),
        b.request(request),
        a.request(request),
        b.request(request),
      ]);
      assert.equal(new Set(tickets.map((t) => t.id)).size, 1);
      assert.equal((await a.list()).length, 1);
    } finally {
      await ns.cleanup();
    }
  },
);

test('concurrent decisions from two instances: exactly one wins', { timeout: TEST_TIMEOUT_MS }, async () => {
  const ns = namespace();
  try {
    const a = ns.open();
    const b = ns.open();
    const ticket = await a.request(elevationRequest());
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).decide(ticket.id, { approve: i % 3 !== 0, approver: `op-${i}`, reason: `r${i}` }),
      ),
    );
    const won = results.filter((r): r is PromiseFulfilledResult<Ticket> => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as ApprovalError).code, 'NOT_PENDING');
    const final = await b.get(ticket.id);
    assert.deepEqual(final, won[0]!.value);
    assert.equal(final?.decisions.length, 1);
  } finally {
    await ns.cleanup();
  }
});

test(
  'restart: a pending request survives its instance and is decided by a new one',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const ns = namespace();
    try {
      const first = ns.open();
      const ticket = await first.request(elevationRequest());
      await first.close();
      const second = ns.open();
      assert.deepEqual(await second.get(ticket.id), ticket);
      assert.deepEqual(
        (await second.list({ status: 'pending' })).map((t) => t.id),
        [ticket.id],
      );
      assert.equal((await second.request(elevationRequest({ ...ticket }))).id, ticket.id);
      const approved = await second.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' });
      assert.equal(approved.status, 'approved');
      assert.equal((await second.wait(ticket.id, forever)).status, 'approved');
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'expiry needs no running process: a request left behind reads as expired later',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const ns = namespace();
    try {
      const first = ns.open({ expiryWorker: false });
      const request = elevationRequest({ expiresInSeconds: 60 });
      const ticket = await first.request(request);
      await first.close();
      const later = manualClock(Date.now() + 61_000);
      const second = ns.open({ expiryWorker: false, now: later.now });
      assert.equal((await second.get(ticket.id))?.status, 'expired');
      assert.equal((await second.wait(ticket.id, forever)).status, 'expired');
      await assert.rejects(
        second.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'late' }),
        (e: unknown) => e instanceof ApprovalError && e.code === 'NOT_PENDING',
      );
      const again = await second.request(request);
      assert.notEqual(again.id, ticket.id);
      assert.equal(again.status, 'pending');
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'the expiry job on another instance records the expiry and announces it',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const ns = namespace();
    try {
      const a = ns.open({ expiryWorker: false, pollIntervalMs: 0 });
      ns.open(); // B: runs the only expiry worker
      const ticket = await a.request(elevationRequest({ expiresInSeconds: 0.3 }));
      const seenOnA = nextChange(a, (t) => t.id === ticket.id && t.status === 'expired');
      const outcome = await a.wait(ticket.id, forever);
      assert.equal(outcome.status, 'expired');
      assert.equal((await seenOnA).status, 'expired');
      assert.equal(await admin.hget(`${ns.prefix}:approvals:state:ticket:${ticket.id}`, 'status'), 'expired');
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'fail closed: with Redis unreachable every operation is STORE_UNAVAILABLE',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const queue = createBullmqApprovalQueue({
      connection: `redis://127.0.0.1:${port}`,
      prefix: `test-approvals-${randomUUID()}`,
      timeoutMs: 300,
    });
    const unavailable = (e: unknown): boolean => e instanceof ApprovalError && e.code === 'STORE_UNAVAILABLE';
    try {
      await assert.rejects(queue.request(elevationRequest()), unavailable);
      await assert.rejects(queue.get('x-1'), unavailable);
      await assert.rejects(queue.decide('x-1', { approve: true, approver: 'op-1', reason: 'ok' }), unavailable);
      await assert.rejects(queue.list(), unavailable);
      await assert.rejects(queue.wait('x-1', forever), unavailable);
    } finally {
      await queue.close();
    }
    const redis = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => {});
    const grants = createRedisGrantStore({ redis, prefix: 'test-grants-unreachable:', timeoutMs: 300 });
    try {
      await assert.rejects(grants.consume({ callHash: 'a'.repeat(64), taskId: 't', tool: 'x' }), unavailable);
    } finally {
      await grants.close();
      redis.disconnect();
    }
  },
);
