/**
 * One contract suite for the task and revocation stores, run against the in-memory implementation and
 * against real Redis (the test run's own, see helpers/redis.ts; a fresh key prefix per run, cleaned up afterwards).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createMemoryRevocationStore } from '../gateway/stores/memory-revocation-store.js';
import { createRedisRevocationStore } from '../gateway/stores/redis-revocation-store.js';
import type { RevocationStore } from '../gateway/services/revocation/types.js';
import {
  StoreUnavailableError,
  TaskConflictError,
  TaskEndedError,
  TaskNotFoundError,
} from '../gateway/services/tasks/errors.js';
import { createMemoryTaskStore } from '../gateway/stores/memory-task-store.js';
import { createRedisTaskStore } from '../gateway/stores/redis-task-store.js';
import type { NewTask, TaskStore } from '../gateway/services/tasks/types.js';
import { REDIS_URL } from './helpers/redis.js';

interface Stores {
  tasks: TaskStore;
  revocation: RevocationStore;
  clock: { t: number };
}

const HOUR = 3_600_000;

function newTask(clock: { t: number }, overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: `t-${randomUUID()}`,
    agentId: 'agent-1',
    intent: 'triage issues',
    createdAt: clock.t,
    expiresAt: clock.t + 60_000,
    ...overrides,
  };
}

function contractSuite(name: string, open: () => Promise<Stores>): void {
  describe(`${name} stores contract`, () => {
    let s: Stores;
    before(async () => {
      s = await open();
    });

    it('creates and reads a task; a duplicate id conflicts', async () => {
      const task = newTask(s.clock, { tenant: 'acme', declaredTools: ['github_*'] });
      const created = await s.tasks.create(task);
      assert.deepEqual(created, { ...task, declaredTools: ['github_*'], labelsRead: [], callCount: 0 });
      assert.deepEqual(await s.tasks.get(task.id), created);
      await assert.rejects(s.tasks.create(task), TaskConflictError);
      assert.equal(await s.revocation.isTaskEnded(task.id), false);
    });

    it('keeps the span a task was created with', async () => {
      const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const task = await s.tasks.create(newTask(s.clock, { trace }));
      assert.equal(task.trace, trace);
      assert.equal((await s.tasks.get(task.id))?.trace, trace);
      const plain = await s.tasks.create(newTask(s.clock));
      assert.equal('trace' in ((await s.tasks.get(plain.id)) ?? {}), false, 'no span kept, no field');
    });

    it('an unknown task reads as undefined and counts as ended', async () => {
      assert.equal(await s.tasks.get('missing'), undefined);
      assert.equal(await s.revocation.isTaskEnded('missing'), true);
      await assert.rejects(s.tasks.end('missing', 'x'), TaskNotFoundError);
      await assert.rejects(s.tasks.incrementCalls('missing'), TaskNotFoundError);
      await assert.rejects(s.tasks.addLabels('missing', ['a']), TaskNotFoundError);
      await assert.rejects(s.tasks.renew('missing', 60, 600), TaskNotFoundError);
    });

    it('ends a task once (first reason wins) and reports it ended', async () => {
      const task = await s.tasks.create(newTask(s.clock));
      const ended = await s.tasks.end(task.id, 'done');
      assert.equal(ended.endedAt, s.clock.t);
      assert.equal(ended.endReason, 'done');
      assert.equal((await s.tasks.end(task.id, 'again')).endReason, 'done');
      assert.equal(await s.revocation.isTaskEnded(task.id), true);
      await assert.rejects(s.tasks.renew(task.id, 60, 600), TaskEndedError);
    });

    it('an expired task reads as ended by expiry', async () => {
      const task = await s.tasks.create(newTask(s.clock, { expiresAt: s.clock.t + 1000 }));
      s.clock.t += 1000;
      const read = await s.tasks.get(task.id);
      assert.equal(read?.endedAt, task.expiresAt);
      assert.equal(read?.endReason, 'expired');
      assert.equal(await s.revocation.isTaskEnded(task.id), true);
      await assert.rejects(s.tasks.renew(task.id, 60, 600), TaskEndedError);
      assert.equal((await s.tasks.end(task.id, 'late')).endReason, 'expired');
    });

    it('renews up to the lifetime cap and never shortens', async () => {
      const task = await s.tasks.create(newTask(s.clock));
      assert.equal((await s.tasks.renew(task.id, 300, 3600)).expiresAt, s.clock.t + 300_000);
      assert.equal((await s.tasks.renew(task.id, 30, 3600)).expiresAt, s.clock.t + 300_000);
      assert.equal((await s.tasks.renew(task.id, 99_999, 3600)).expiresAt, task.createdAt + HOUR);
    });

    it("keeps a task created with a retention of its own that long after it ends, others the store's", async () => {
      // Redis drops records by its own clock: start from the real time.
      s.clock.t = Date.now();
      const short = await s.tasks.create(newTask(s.clock, { retentionSeconds: 1 }));
      const renewed = await s.tasks.create(newTask(s.clock, { retentionSeconds: 1 }));
      const usual = await s.tasks.create(newTask(s.clock));
      assert.equal((await s.tasks.renew(renewed.id, 120, 600)).expiresAt, s.clock.t + 120_000);
      await s.tasks.end(short.id, 'done');
      await s.tasks.end(usual.id, 'done');
      assert.equal((await s.tasks.get(short.id))?.endReason, 'done', 'readable as ended at first');
      await new Promise((resolve) => setTimeout(resolve, 1300));
      s.clock.t += 1300;
      const listed = (await s.tasks.list({ includeEnded: true })).map((task) => task.id);
      assert.ok(!listed.includes(short.id));
      assert.equal(await s.tasks.get(short.id), undefined);
      assert.equal(await s.revocation.isTaskEnded(short.id), true);
      assert.equal((await s.tasks.get(usual.id))?.endReason, 'done');
      assert.equal((await s.tasks.get(renewed.id))?.endedAt, undefined, 'a renewed task is live');
    });

    it('collects labels as a set', async () => {
      const task = await s.tasks.create(newTask(s.clock));
      await s.tasks.addLabels(task.id, ['sensitive', 'pii']);
      await s.tasks.addLabels(task.id, ['pii']);
      await s.tasks.addLabels(task.id, []);
      assert.deepEqual((await s.tasks.get(task.id))?.labelsRead, ['pii', 'sensitive']);
    });

    it('counts calls atomically under concurrency', async () => {
      const task = await s.tasks.create(newTask(s.clock));
      const counts = await Promise.all(Array.from({ length: 50 }, () => s.tasks.incrementCalls(task.id)));
      assert.deepEqual(
        [...counts].sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal((await s.tasks.get(task.id))?.callCount, 50);
    });

    it('reads a task counting a call on it, atomically, only while the task is live', async () => {
      const task = await s.tasks.create(newTask(s.clock));
      const read = await Promise.all(Array.from({ length: 20 }, () => s.tasks.getAndCountCall(task.id)));
      assert.deepEqual(
        read.map((t) => t?.callCount).sort((a, b) => (a ?? 0) - (b ?? 0)),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.deepEqual(read[0], { ...task, labelsRead: [], callCount: read[0]?.callCount });
      assert.equal((await s.tasks.get(task.id))?.callCount, 20);
      const ended = await s.tasks.create(newTask(s.clock));
      await s.tasks.end(ended.id, 'done');
      assert.deepEqual(
        [(await s.tasks.getAndCountCall(ended.id))?.endReason, (await s.tasks.get(ended.id))?.callCount],
        ['done', 0],
      );
      const expiring = await s.tasks.create(newTask(s.clock, { expiresAt: s.clock.t + 1_000 }));
      assert.equal((await s.tasks.getAndCountCall(expiring.id))?.callCount, 1);
      s.clock.t += 1_000;
      try {
        const expired = await s.tasks.getAndCountCall(expiring.id);
        assert.deepEqual([expired?.endReason, expired?.callCount], ['expired', 1], 'read as expired, not counted');
      } finally {
        s.clock.t -= 1_000;
      }
      const unknown = `t-${randomUUID()}`;
      assert.equal(await s.tasks.getAndCountCall(unknown), undefined);
      assert.equal(await s.tasks.get(unknown), undefined, 'counting an unknown task makes none');
    });

    it('lists live tasks per agent, ended ones on request', async () => {
      const agentId = `lister-${randomUUID()}`;
      const a = await s.tasks.create(newTask(s.clock, { agentId }));
      const b = await s.tasks.create(newTask(s.clock, { agentId, createdAt: s.clock.t + 1 }));
      await s.tasks.create(newTask(s.clock, { agentId: 'someone-else' }));
      await s.tasks.end(a.id, 'done');
      assert.deepEqual(
        (await s.tasks.list({ agentId })).map((t) => t.id),
        [b.id],
      );
      assert.deepEqual(
        (await s.tasks.list({ agentId, includeEnded: true })).map((t) => t.id),
        [a.id, b.id],
      );
      assert.ok((await s.tasks.list()).every((t) => t.endedAt === undefined));
    });

    it('revokes a jti until a time; past times revoke nothing', async () => {
      const jti = randomUUID();
      assert.equal(await s.revocation.isJtiRevoked(jti), false);
      await s.revocation.revokeJti(jti, Date.now() + 600_000);
      assert.equal(await s.revocation.isJtiRevoked(jti), true);
      const stale = randomUUID();
      await s.revocation.revokeJti(stale, Date.now() - 1000);
      assert.equal(await s.revocation.isJtiRevoked(stale), false);
    });

    it('disables and enables agents', async () => {
      const agentId = `agent-${randomUUID()}`;
      assert.equal(await s.revocation.isAgentDisabled(agentId), false);
      await s.revocation.disableAgent(agentId);
      assert.equal(await s.revocation.isAgentDisabled(agentId), true);
      await s.revocation.enableAgent(agentId);
      assert.equal(await s.revocation.isAgentDisabled(agentId), false);
    });
  });
}

contractSuite('memory', async () => {
  const clock = { t: Date.now() };
  const tasks = createMemoryTaskStore({ now: () => clock.t });
  return { tasks, revocation: createMemoryRevocationStore({ tasks, now: () => clock.t }), clock };
});

const prefix = `test:credentials:${randomUUID()}:`;
const connections: Redis[] = [];
function connect(): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: false });
  connections.push(redis);
  return redis;
}

after(async () => {
  const redis = connections[0];
  if (redis !== undefined) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    assert.deepEqual(await redis.keys(`${prefix}*`), []);
  }
  for (const c of connections) c.disconnect();
});

contractSuite('redis', async () => {
  const clock = { t: Date.now() };
  const redis = connect();
  const tasks = createRedisTaskStore({ redis, prefix, now: () => clock.t });
  return { tasks, revocation: createRedisRevocationStore({ redis, prefix, tasks, now: () => clock.t }), clock };
});

describe('redis task indexes', () => {
  it('hold no more ids than there are task records: dropped ones are trimmed as tasks are created', async () => {
    const redis = connect();
    const clock = { t: Date.now() };
    const tasks = createRedisTaskStore({ redis, prefix, now: () => clock.t });
    const agentId = `agent-churn-${randomUUID()}`;
    const agentIndex = `${prefix}tasks:agent:${agentId}`;
    const churn = async (count: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const task = await tasks.create(newTask(clock, { agentId, retentionSeconds: 1 }));
        ids.push(task.id);
      }
      return ids;
    };
    // Ended (as sessions close) and expired (as unused request tasks do), each kept a second.
    for (const id of await churn(20)) await tasks.end(id, 'session closed');
    await churn(20);
    const renewed = await tasks.create(newTask(clock, { agentId, expiresAt: clock.t + 500 }));
    await tasks.renew(renewed.id, 600, 3600);
    assert.equal(await redis.zcard(agentIndex), 41);

    await new Promise((resolve) => setTimeout(resolve, 1200));
    clock.t = Date.now();
    const expiredAt = clock.t;
    clock.t += 60_000; // the second batch expired a minute ago, and its retention is over
    const fresh = await tasks.create(newTask(clock, { agentId }));
    assert.deepEqual((await redis.zrange(agentIndex, '0', '-1')).sort(), [renewed.id, fresh.id].sort());
    assert.equal(await redis.zcount(`${prefix}tasks:all`, '-inf', String(expiredAt)), 0);
    assert.deepEqual(
      (await tasks.list({ agentId, includeEnded: true })).map((task) => task.id),
      [renewed.id, fresh.id],
      'listed in creation order',
    );
  });
});

describe('redis stores shared by two instances', () => {
  it('an end, a disable and a revocation on one instance are seen by the other on the next check', async () => {
    const one = createRedisTaskStore({ redis: connect(), prefix });
    const oneRevocation = createRedisRevocationStore({ redis: connections.at(-1) as Redis, prefix, tasks: one });
    const two = createRedisTaskStore({ redis: connect(), prefix });
    const twoRevocation = createRedisRevocationStore({ redis: connections.at(-1) as Redis, prefix, tasks: two });

    const task = await one.create(newTask({ t: Date.now() }));
    assert.equal(await twoRevocation.isTaskEnded(task.id), false);
    await one.end(task.id, 'operator');
    assert.equal(await twoRevocation.isTaskEnded(task.id), true);
    assert.equal((await two.get(task.id))?.endReason, 'operator');

    await oneRevocation.disableAgent('shared-agent');
    assert.equal(await twoRevocation.isAgentDisabled('shared-agent'), true);
    await twoRevocation.enableAgent('shared-agent');
    assert.equal(await oneRevocation.isAgentDisabled('shared-agent'), false);

    const jti = randomUUID();
    await twoRevocation.revokeJti(jti, Date.now() + 60_000);
    assert.equal(await oneRevocation.isJtiRevoked(jti), true);
  });

  it('fails closed when Redis is unreachable: checks and mutations throw STORE_UNAVAILABLE', async () => {
    const dead = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined);
    try {
      const tasks = createRedisTaskStore({ redis: dead, prefix, timeoutMs: 500 });
      const revocation = createRedisRevocationStore({ redis: dead, prefix, tasks, timeoutMs: 500 });
      // Checks never guess: an outage is an error the caller refuses on, with its own code.
      await assert.rejects(revocation.isTaskEnded('any'), StoreUnavailableError);
      await assert.rejects(revocation.isAgentDisabled('any'), StoreUnavailableError);
      await assert.rejects(revocation.isJtiRevoked('any'), StoreUnavailableError);
      await assert.rejects(tasks.get('any'), StoreUnavailableError);
      await assert.rejects(tasks.create(newTask({ t: Date.now() })), StoreUnavailableError);
      await assert.rejects(revocation.disableAgent('any'), StoreUnavailableError);
    } finally {
      dead.disconnect();
    }
  });
});
