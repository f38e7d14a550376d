/**
 * An agent holds at most `limits.maxRequestTasksPerAgent` open implicit tasks of 2026-07-28 requests: one
 * more ends the one it used least recently (with what hangs off it), and never another agent's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import type { Principal } from '../../kernel/index.js';
import { createRequestTaskCap } from './request-task-cap.js';
import { createSessionTasks, DISPLACED_REASON } from './session-tasks.js';

const alice: Principal = { agentId: 'alice', roles: [], authMethod: 'api-key' };
const bob: Principal = { agentId: 'bob', roles: [], authMethod: 'api-key' };

function setup(max: number) {
  const now = 5_000_000;
  const store = createMemoryTaskStore({ now: () => now });
  const ended: string[] = [];
  const forgotten: string[] = [];
  const tasks = createSessionTasks({
    store,
    implicitTtlSeconds: 86_400,
    requestTaskIdleSeconds: 1800,
    maxRequestTasksPerAgent: max,
    onForget: (id) => forgotten.push(id),
    onImplicitTaskEnded: async (id) => void ended.push(id),
    now: () => now,
  });
  return { store, tasks, ended, forgotten };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('open request tasks per agent', () => {
  it('one task more than the cap ends the least recently used one, with its grants', async () => {
    const { store, tasks, ended, forgotten } = setup(3);
    const [one, two, three] = [
      await tasks.startRequestTask(alice, 'm-1'),
      await tasks.startRequestTask(alice, 'm-2'),
      await tasks.startRequestTask(alice, 'm-3'),
    ];
    await tasks.continueRequestTask(one!.id); // alice used the first again: the second is now the oldest
    const four = await tasks.startRequestTask(alice, 'm-4');
    await settle();
    assert.equal((await store.get(two!.id))?.endReason, DISPLACED_REASON);
    assert.deepEqual(ended, [two!.id]);
    assert.deepEqual(forgotten, [two!.id]);
    for (const live of [one!, three!, four]) assert.equal((await store.get(live.id))?.endedAt, undefined);
    await assert.rejects(tasks.continueRequestTask(two!.id), /task has ended/);
  });

  it("never ends another agent's tasks", async () => {
    const { store, tasks } = setup(2);
    const bobs = [await tasks.startRequestTask(bob, 'b-1'), await tasks.startRequestTask(bob, 'b-2')];
    for (let i = 0; i < 10; i++) await tasks.startRequestTask(alice, `a-${i}`);
    await settle();
    for (const task of bobs) assert.equal((await store.get(task.id))?.endedAt, undefined);
    const open = (await store.list({ agentId: 'alice' })).length;
    assert.equal(open, 2, 'alice keeps her two most recent');
  });

  it('counts agents of different tenants apart, and refuses a cap below one', () => {
    const displaced: string[] = [];
    const cap = createRequestTaskCap(1, (id) => displaced.push(id));
    cap.use({ agentId: 'a', tenant: 't1' }, 'x');
    cap.use({ agentId: 'a', tenant: 't2' }, 'y');
    cap.use({ agentId: 'a' }, 'z');
    assert.deepEqual(displaced, []);
    cap.use({ agentId: 'a', tenant: 't1' }, 'x'); // the same task again displaces nothing
    cap.use({ agentId: 'a', tenant: 't1' }, 'w');
    assert.deepEqual(displaced, ['x']);
    assert.throws(() => createRequestTaskCap(0, () => undefined), RangeError);
  });
});
