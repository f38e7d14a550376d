/**
 * Implicit tasks do not pile up: a 2026-07-28 request without a task token or handle starts a task that
 * lives only a while past its last request, and an implicit task that ended (its session closed, or it
 * went idle) is dropped from the store a minute later, not after the store's hour of retention.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import type { Principal } from '../../kernel/index.js';
import { requestTaskIdleSeconds } from './open-tasks.js';
import { createSessionTasks, IMPLICIT_TASK_RETENTION_SECONDS } from './session-tasks.js';

const agent: Principal = { agentId: 'agent-1', roles: [], authMethod: 'api-key' };
const MINUTE = 60_000;

function setup(idleSeconds = 900, capSeconds = 86_400) {
  const clock = { t: 10_000_000 };
  const store = createMemoryTaskStore({ now: () => clock.t });
  const tasks = createSessionTasks({
    store,
    implicitTtlSeconds: capSeconds,
    requestTaskIdleSeconds: idleSeconds,
    maxRequestTasksPerAgent: 10_000,
    now: () => clock.t,
  });
  return { clock, store, tasks };
}

describe('implicit task lifetime', () => {
  it("a request's implicit task ends when no request continues it within the idle time", async () => {
    const { clock, store, tasks } = setup();
    const task = await tasks.startRequestTask(agent, 'm-1');
    assert.equal((await store.get(task.id))?.expiresAt, clock.t + 15 * MINUTE);
    clock.t += 15 * MINUTE;
    await assert.rejects(tasks.continueRequestTask(task.id), /task has ended/);
    assert.equal((await store.get(task.id))?.endReason, 'expired');
  });

  it('each request that continues it extends it, never past the lifetime cap', async () => {
    const { clock, store, tasks } = setup(900, 3600);
    const task = await tasks.startRequestTask(agent, 'm-2');
    const started = clock.t;
    // Within the first half of the idle time nothing is written; after it, the expiry moves on.
    clock.t += 5 * MINUTE;
    await tasks.continueRequestTask(task.id);
    assert.equal((await store.get(task.id))?.expiresAt, started + 15 * MINUTE);
    clock.t += 5 * MINUTE;
    await tasks.continueRequestTask(task.id);
    assert.equal((await store.get(task.id))?.expiresAt, clock.t + 15 * MINUTE);
    assert.equal(await tasks.expiryOf(task.id), clock.t + 15 * MINUTE, 'credentials see the new expiry');
    for (let i = 0; i < 8; i++) {
      clock.t += 10 * MINUTE;
      if (clock.t < started + 60 * MINUTE) await tasks.continueRequestTask(task.id);
    }
    assert.equal((await store.get(task.id))?.expiresAt, started + 60 * MINUTE, 'capped at the lifetime');
    await assert.rejects(tasks.continueRequestTask(task.id), /task has ended/);
  });

  it('a task that ended stays ended: continuing it does not revive it', async () => {
    const { store, tasks } = setup();
    const task = await tasks.startRequestTask(agent, 'm-3');
    await store.end(task.id, 'ended by an operator');
    await assert.rejects(tasks.continueRequestTask(task.id), /task has ended/);
    assert.equal((await store.get(task.id))?.endReason, 'ended by an operator');
    await assert.rejects(tasks.continueRequestTask('session-m-unknown'), /task has ended/);
    // A GatewayError with its own code, which every edge answers as it is.
    await assert.rejects(tasks.continueRequestTask(task.id), { name: 'GatewayError', code: 'TASK_ENDED' });
    await assert.rejects(tasks.taskForSession({ ...agent, taskId: task.id }, 's'), { code: 'TASK_ENDED' });
  });

  it('keeps labels read by earlier requests of the task', async () => {
    const { store, tasks } = setup();
    const task = await tasks.startRequestTask(agent, 'm-4');
    await store.addLabels(task.id, ['pii']);
    assert.deepEqual((await tasks.continueRequestTask(task.id)).labelsRead, ['pii']);
  });

  it('implicit tasks that ended are dropped a minute later, tasks of the task API after the hour', async () => {
    const { clock, store, tasks } = setup();
    const session = await tasks.taskForSession(agent, 'closed-session');
    await tasks.sessionClosed(session.id);
    const idle = await tasks.startRequestTask(agent, 'm-idle');
    await store.create({
      id: 'api-task',
      agentId: agent.agentId,
      intent: 'from the task API',
      createdAt: clock.t,
      expiresAt: clock.t + MINUTE,
    });
    await store.end('api-task', 'done');
    clock.t += 15 * MINUTE + IMPLICIT_TASK_RETENTION_SECONDS * 1000;
    const retained = (await store.list({ includeEnded: true })).map((task) => task.id);
    assert.ok(!retained.includes(session.id), 'the closed session task is gone');
    assert.ok(!retained.includes(idle.id), 'the idle request task is gone');
    assert.ok(retained.includes('api-task'), 'a task of the task API keeps the store retention');
    assert.equal(await store.get(session.id), undefined);
  });

  it('many requests without a handle leave no more tasks than the idle time holds', async () => {
    const { clock, store, tasks } = setup(60);
    // One request a second for an hour, none of them continued.
    for (let i = 0; i < 3600; i++) {
      await tasks.startRequestTask(agent, `m-burst-${i}`);
      clock.t += 1000;
    }
    const held = (await store.list({ includeEnded: true })).length;
    assert.ok(held <= 60 + IMPLICIT_TASK_RETENTION_SECONDS + 2, `${held} task records held`);
  });

  it('lives at least as long as an approval can take to be decided and used, within the lifetime cap', () => {
    const idleOf = (idle: number, pending: number, grant: number, cap = 86_400): number =>
      requestTaskIdleSeconds({
        limits: { requestTaskIdleSeconds: idle, sessionTaskTtlSeconds: cap },
        approvals: { pendingTtlSeconds: pending, maxGrantSeconds: grant },
      } as unknown as Parameters<typeof requestTaskIdleSeconds>[0]);
    assert.equal(idleOf(1800, 900, 900), 1800);
    assert.equal(idleOf(600, 900, 900), 1800, 'an approval decided late finds its task');
    assert.equal(idleOf(3600, 900, 900), 3600);
    assert.equal(idleOf(1800, 7 * 86_400, 900, 86_400), 86_400, 'never past the cap');
  });
});
