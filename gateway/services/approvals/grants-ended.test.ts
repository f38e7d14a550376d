import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heapUsedAfterCollection } from '../../../test/helpers/heap.js';
import { callHash } from './call-hash.js';
import { createMemoryGrantStore } from './grants.js';
import type { StoredGrant } from './types.js';

function grantFor(taskId: string, at: number): StoredGrant {
  return {
    ticketId: `ticket-${taskId}`,
    scope: 'task-tool',
    agentId: 'agent-1',
    taskId,
    tool: 'billing_refund',
    callHash: callHash({ agentId: 'agent-1', taskId, tool: 'billing_refund', args: {} }),
    expiresAt: new Date(at + 60_000).toISOString(),
    usesLeft: 1,
    approvers: ['op-1'],
  };
}

const query = (taskId: string) => ({ callHash: '', taskId, tool: 'billing_refund' });

/** Grant a call of this task at `at` and try to use it: the grant when the task may still use grants. */
async function grantAndUse(store: ReturnType<typeof createMemoryGrantStore>, taskId: string, at: number) {
  await store.put(grantFor(taskId, at));
  return store.consume(query(taskId));
}

describe('memory grant store: ended tasks', () => {
  it('forgets an ended task once its mark has run out, even when nothing is ever granted', async () => {
    let at = 1_000_000;
    const store = createMemoryGrantStore({ now: () => at, endedTaskSeconds: 1 });
    const before = heapUsedAfterCollection();
    // Sessions keep closing (each ends its implicit task) and no approval is ever granted.
    for (let i = 0; i < 100_000; i++) {
      await store.endTask(`session-${i}-${'x'.repeat(100)}`);
      at += 50;
    }
    const grown = heapUsedAfterCollection() - before;
    assert.ok(grown < 2 * 1024 * 1024, `the heap grew by ${Math.round(grown / 1024)} KB`);
    await store.close();
  });

  it('keeps refusing grants for a task ended within the mark, whatever ended after it', async () => {
    let at = 1_000_000;
    const store = createMemoryGrantStore({ now: () => at, endedTaskSeconds: 10 });
    await store.endTask('old');
    at += 5_000;
    await store.endTask('recent');
    at += 5_000; // 'old' ran out exactly now; 'recent' has 5 s left
    await store.endTask('newest');
    for (const taskId of ['recent', 'newest'])
      assert.equal(await grantAndUse(store, taskId, at), undefined, `${taskId} is still ended`);
    assert.equal((await grantAndUse(store, 'old', at))?.taskId, 'old', 'the mark of old has run out');
    await store.close();
  });

  it('forgets a task whose mark ran out even when a task ended before it was ended again', async () => {
    let at = 1_000_000;
    const store = createMemoryGrantStore({ now: () => at, endedTaskSeconds: 10 });
    await store.endTask('first');
    at += 1_000;
    await store.endTask('second');
    at += 1_000;
    await store.endTask('first'); // its mark now runs out after the second's
    at += 9_500; // the second ran out 500 ms ago; the first has 500 ms left
    assert.equal((await grantAndUse(store, 'second', at))?.taskId, 'second');
    assert.equal(await grantAndUse(store, 'first', at), undefined);
    await store.close();
  });

  it('renews the mark of a task ended again', async () => {
    let at = 1_000_000;
    const store = createMemoryGrantStore({ now: () => at, endedTaskSeconds: 10 });
    await store.endTask('again');
    at += 6_000;
    await store.endTask('other');
    await store.endTask('again');
    at += 6_000; // the first mark of 'again' would have run out; the second has 4 s left
    await store.endTask('later');
    assert.equal(await grantAndUse(store, 'again', at), undefined);
    await store.close();
  });
});
