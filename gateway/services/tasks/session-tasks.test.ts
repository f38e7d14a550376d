import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { createMemoryTaskStore } from '../../stores/index.js';
import type { Principal } from '../../kernel/index.js';
import { createSessionTasks, REMEMBERED_EXPIRIES } from './session-tasks.js';
import type { TaskStore } from './types.js';

const agent: Principal = { agentId: 'a1', roles: [], authMethod: 'api-key' };

describe('session tasks', () => {
  it('gives a session without a task its own implicit task, ended when the session closes', async () => {
    const now = 1_000_000;
    const store = createMemoryTaskStore({ now: () => now });
    const forgotten: string[] = [];
    const tasks = createSessionTasks({
      store,
      implicitTtlSeconds: 60,
      requestTaskIdleSeconds: 900,
      maxRequestTasksPerAgent: 10_000,
      onForget: (id) => forgotten.push(id),
      now: () => now,
    });
    const task = await tasks.taskForSession(agent, 's1');
    assert.equal(task.id, 'session-s1');
    assert.equal(await tasks.expiryOf(task.id), now + 60_000);
    assert.equal((await tasks.states.current(task.id)).live, true);
    await tasks.sessionClosed(task.id);
    assert.deepEqual(forgotten, ['session-s1']);
    assert.equal((await tasks.states.current(task.id)).live, false, 'the implicit task ended with its session');
  });

  it("keeps the span of a request's task, and of a token's task, but opens none for a session's own task", async () => {
    const now = 4_000_000;
    const store = createMemoryTaskStore({ now: () => now });
    const opened: { id: string; parent: unknown }[] = [];
    const parent = ROOT_CONTEXT.setValue(Symbol('the request trace'), true);
    const tasks = createSessionTasks({
      store,
      implicitTtlSeconds: 60,
      requestTaskIdleSeconds: 900,
      maxRequestTasksPerAgent: 10_000,
      openTrace: (task, parentContext) => {
        opened.push({ id: task.id, parent: parentContext });
        return `00-${'1'.repeat(32)}-${String(opened.length).padStart(16, '0')}-01`;
      },
      now: () => now,
    });
    const started = await tasks.startRequestTask(agent, 'm-1', parent);
    assert.equal(started.trace, `00-${'1'.repeat(32)}-0000000000000001-01`);
    assert.deepEqual(opened, [{ id: 'session-m-1', parent }], 'opened once, in the request trace');
    assert.equal((await store.get('session-m-1'))?.trace, started.trace, 'the store keeps it for every instance');
    assert.equal((await tasks.continueRequestTask('session-m-1')).trace, started.trace, 'a later request finds it');
    const own = await tasks.taskForSession(agent, 's6');
    assert.equal(own.trace, undefined, "a session's own task span lives with the session");
    assert.equal(opened.length, 1);
    await store.create({
      id: 't-traced',
      agentId: 'a1',
      intent: 'x',
      trace: 'kept',
      createdAt: now,
      expiresAt: now + 10_000,
    });
    assert.equal((await tasks.taskForSession({ ...agent, taskId: 't-traced' }, 's7')).trace, 'kept');
  });

  it("ends what hangs off a session's implicit task when it ends, and nothing for a task token's task", async () => {
    const now = 3_000_000;
    const store = createMemoryTaskStore({ now: () => now });
    const ended: string[] = [];
    const tasks = createSessionTasks({
      store,
      implicitTtlSeconds: 60,
      requestTaskIdleSeconds: 900,
      maxRequestTasksPerAgent: 10_000,
      onImplicitTaskEnded: async (id) => void ended.push(id),
      now: () => now,
    });
    await store.create({ id: 't-live', agentId: 'a1', intent: 'x', createdAt: now, expiresAt: now + 10_000 });
    const implicit = await tasks.taskForSession(agent, 's4');
    await tasks.taskForSession({ ...agent, taskId: 't-live' }, 's5');
    await tasks.sessionClosed('t-live');
    assert.deepEqual(ended, [], "a task token's task outlives its session, and so do its grants");
    await tasks.sessionClosed(implicit.id);
    assert.deepEqual(ended, ['session-s4']);
  });

  it('refuses a session whose credential names a task that has ended, and keeps explicit tasks open on close', async () => {
    const now = 2_000_000;
    const store = createMemoryTaskStore({ now: () => now });
    const tasks = createSessionTasks({
      store,
      implicitTtlSeconds: 60,
      requestTaskIdleSeconds: 900,
      maxRequestTasksPerAgent: 10_000,
      now: () => now,
    });
    await store.create({ id: 't-live', agentId: 'a1', intent: 'x', createdAt: now, expiresAt: now + 10_000 });
    await store.create({ id: 't-old', agentId: 'a1', intent: 'x', createdAt: now - 20_000, expiresAt: now - 10_000 });
    const live = await tasks.taskForSession({ ...agent, taskId: 't-live' }, 's2');
    assert.equal(live.id, 't-live');
    await assert.rejects(tasks.taskForSession({ ...agent, taskId: 't-old' }, 's3'), /ended/);
    await tasks.sessionClosed('t-live');
    assert.equal((await tasks.states.current('t-live')).live, true, 'a task token outlives one session');
  });

  it('remembers a bounded number of expiries, however many tasks pass through (2026-07-28 requests have no session to close)', async () => {
    const now = 4_000_000;
    const store = createMemoryTaskStore({ now: () => now });
    let reads = 0;
    const counting: TaskStore = {
      ...store,
      get: async (id) => {
        reads++;
        return store.get(id);
      },
    };
    const tasks = createSessionTasks({
      store: counting,
      implicitTtlSeconds: 60,
      requestTaskIdleSeconds: 900,
      maxRequestTasksPerAgent: 10_000,
      now: () => now,
    });
    const first = await tasks.taskForSession(agent, 'm-first');
    reads = 0;
    assert.equal(await tasks.expiryOf(first.id), now + 60_000);
    assert.equal(reads, 0, 'a task seen recently is answered from memory');
    for (let i = 0; i < REMEMBERED_EXPIRIES; i++) await tasks.taskForSession(agent, `m-${i}`);
    assert.equal(await tasks.expiryOf(first.id), now + 60_000, 'a forgotten expiry is read from the store');
    assert.equal(reads, 1, 'the oldest expiry was forgotten');
    reads = 0;
    assert.equal(await tasks.expiryOf(`session-m-${REMEMBERED_EXPIRIES - 1}`), now + 60_000);
    assert.equal(reads, 0, 'the newest are still remembered');
  });
});
