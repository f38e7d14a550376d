/**
 * The approval task store in both forms (memory, and Redis on the test run's own server): a task ends once
 * (the first end wins, whichever instance), its other fields never change, and it is dropped with its TTL.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { ApprovalTask, ApprovalTaskStore } from '../gateway/services/approvals/index.js';
import { createMemoryApprovalTaskStore, createRedisApprovalTaskStore } from '../gateway/stores/index.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

function task(id: string, ttlMs = 60_000): ApprovalTask {
  const at = new Date().toISOString();
  return {
    id,
    owner: 'owner-digest',
    approvalId: 'ticket-1',
    tool: 'pay_refund',
    status: 'working',
    statusMessage: 'waiting for operator approval of request ticket-1',
    createdAt: at,
    lastUpdatedAt: at,
    ttlMs,
  };
}

const completed = {
  status: 'completed' as const,
  statusMessage: 'completed',
  lastUpdatedAt: new Date().toISOString(),
  // Empty arrays and objects survive the round trip unchanged.
  result: { content: [], structuredContent: { items: [], nested: {} }, resultType: 'complete' },
};
const cancelled = { status: 'cancelled' as const, statusMessage: 'cancelled by the agent', lastUpdatedAt: '' };

function contract(name: string, open: () => { stores: ApprovalTaskStore[]; cleanup(): Promise<void> }): void {
  describe(name, () => {
    it('ends a working task once: the first end wins on every instance', async () => {
      const { stores, cleanup } = open();
      try {
        const [one, two] = [stores[0]!, stores[stores.length - 1]!];
        await one.create(task('t-1'));
        assert.equal((await two.get('t-1'))?.status, 'working');
        const ends = await Promise.all([one.finish('t-1', completed), two.finish('t-1', cancelled)]);
        assert.deepEqual(ends.filter(Boolean).length, 1);
        const ended = await two.get('t-1');
        const winner = ends[0] ? completed : cancelled;
        assert.equal(ended?.status, winner.status);
        assert.equal(ended?.owner, 'owner-digest', 'the rest of the record is unchanged');
        if (ends[0]) assert.deepEqual(ended?.result, completed.result);
        assert.equal(await one.finish('t-1', cancelled), false, 'an ended task cannot end again');
      } finally {
        await cleanup();
      }
    });

    it('knows nothing of an unknown task, and drops a task with its TTL', async () => {
      const { stores, cleanup } = open();
      try {
        const store = stores[0]!;
        assert.equal(await store.get('nope'), undefined);
        assert.equal(await store.finish('nope', cancelled), false);
        await store.create(task('t-2', 50));
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal(await store.get('t-2'), undefined);
      } finally {
        await cleanup();
      }
    });
  });
}

contract('memory approval task store', () => {
  const store = createMemoryApprovalTaskStore();
  return { stores: [store], cleanup: async () => undefined };
});

const redis = new Redis(REDIS_URL);
after(() => redis.quit());

contract('redis approval task store (two instances)', () => {
  const prefix = freshPrefix();
  return {
    stores: [createRedisApprovalTaskStore({ redis, prefix }), createRedisApprovalTaskStore({ redis, prefix })],
    cleanup: () => deleteKeys(prefix),
  };
});
