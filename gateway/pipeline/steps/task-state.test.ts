import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../kernel/index.js';
import { createTaskStateSource, type TaskState, type TaskStateSource } from '../../services/tasks/index.js';
import type { Task, TaskStore } from '../../services/tasks/types.js';
import type { CallState } from '../call-state.js';
import { taskStateStep } from './task-state.js';

const TASK = { id: 'task-1', declared: false } as unknown as CallState['task'];

function state(): CallState {
  return { ctx: { task: TASK }, task: TASK, record: { event: 'tool.call' } } as unknown as CallState;
}

/**
 * `asked`: the reads; `countingReads`: those of them asked to count the call (the store counts it when the task
 * is live); `counted`: counts sent on their own.
 */
function source(
  current: () => Promise<TaskState>,
): TaskStateSource & { counted: string[]; asked: string[]; countingReads: string[] } {
  const counted: string[] = [];
  const asked: string[] = [];
  const countingReads: string[] = [];
  return {
    counted,
    asked,
    countingReads,
    current: async (id, options) => {
      asked.push(id);
      if (options?.countCall === true) countingReads.push(id);
      return current();
    },
    addLabels: async () => {},
    countCall: async (id) => void counted.push(id),
  };
}

const run = async (step: ReturnType<typeof taskStateStep>, s: CallState) => step.run(s, undefined as never);

describe('task step', () => {
  it('ends the run with TASK_ENDED when the task is no longer live, and counts nothing itself', async () => {
    const tasks = source(async () => ({ live: false, labelsRead: ['pii'] }));
    const s = state();
    const outcome = await run(taskStateStep(tasks, { countCalls: true }), s);
    assert.ok(outcome !== undefined && 'end' in outcome);
    assert.ok(outcome.end instanceof GatewayError);
    assert.equal(outcome.end.code, 'TASK_ENDED');
    assert.equal(outcome.end.message, 'the task has ended; open a new task');
    assert.equal(s.record.reason, 'the task has ended');
    assert.deepEqual(tasks.asked, ['task-1']);
    assert.deepEqual(tasks.countingReads, ['task-1'], 'the read counts the call only where the task is live');
    assert.deepEqual(tasks.counted, []);
    assert.equal(s.task, TASK);
  });

  it('ends the run with STORE_UNAVAILABLE (not TASK_ENDED) when the store cannot answer', async () => {
    const down = new Error('redis unreachable');
    const s = state();
    const outcome = await run(
      taskStateStep(
        source(async () => Promise.reject(down)),
        { countCalls: true },
      ),
      s,
    );
    assert.ok(outcome !== undefined && 'end' in outcome);
    assert.equal(outcome.end.code, 'STORE_UNAVAILABLE');
    assert.equal(outcome.end.message, 'the task store is unavailable');
    assert.equal(outcome.end.cause, down);
    assert.equal(s.record.reason, undefined);
  });

  it('lets a live task through, its read counting the call only when asked to', async () => {
    const counting = source(async () => ({ live: true, labelsRead: [] }));
    assert.equal(await run(taskStateStep(counting, { countCalls: true }), state()), undefined);
    assert.deepEqual([counting.asked, counting.countingReads], [['task-1'], ['task-1']]);
    assert.deepEqual(counting.counted, [], 'one store operation reads and counts');
    const quiet = source(async () => ({ live: true, labelsRead: [] }));
    assert.equal(await run(taskStateStep(quiet), state()), undefined);
    assert.equal(await run(taskStateStep(quiet, { countCalls: false }), state()), undefined);
    assert.deepEqual([quiet.asked, quiet.countingReads, quiet.counted], [['task-1', 'task-1'], [], []]);
  });

  const readByTheEdge = (): CallState =>
    ({ ctx: { task: TASK, taskReadLive: true }, task: TASK, record: {} }) as unknown as CallState;

  it('never blocks a call because a count sent on its own failed', async () => {
    const tasks = source(async () => ({ live: true, labelsRead: [] }));
    tasks.countCall = async () => Promise.reject(new Error('down'));
    assert.equal(await run(taskStateStep(tasks, { countCalls: true }), readByTheEdge()), undefined);
  });

  it('does not wait for a count sent on its own to be stored', async () => {
    const tasks = source(async () => ({ live: true, labelsRead: [] }));
    tasks.countCall = (id) => {
      tasks.counted.push(id);
      return new Promise<void>(() => undefined); // a store that never answers the count
    };
    const waited = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 2_000).unref());
    const step = run(taskStateStep(tasks, { countCalls: true }), readByTheEdge());
    assert.equal(await Promise.race([step, waited]), undefined);
    assert.deepEqual(tasks.counted, ['task-1']);
  });

  it('hands the labels read so far to the rules, and leaves the task as it is without any', async () => {
    const s = state();
    await run(taskStateStep(source(async () => ({ live: true, labelsRead: ['pii', 'finance'] }))), s);
    assert.deepEqual(s.task, { ...TASK, labelsRead: ['pii', 'finance'] });
    const plain = state();
    await run(taskStateStep(source(async () => ({ live: true, labelsRead: [] }))), plain);
    assert.equal(plain.task, TASK);
  });

  it('takes the read the edge made for this request, counting the call, without asking the store again', async () => {
    const tasks = source(async () => ({ live: false, labelsRead: [] }));
    const labelled = { ...TASK, labelsRead: ['pii'] } as CallState['task'];
    const s = { ctx: { task: labelled, taskReadLive: true }, task: labelled, record: {} } as unknown as CallState;
    assert.equal(await run(taskStateStep(tasks, { countCalls: true }), s), undefined);
    assert.deepEqual(tasks.asked, []);
    assert.deepEqual(tasks.counted, ['task-1']);
    assert.equal(s.task, labelled, "the labels the edge read stay the task's");
    const quiet = source(async () => ({ live: true, labelsRead: [] }));
    assert.equal(await run(taskStateStep(quiet), s), undefined);
    assert.deepEqual([quiet.asked, quiet.counted], [[], []], 'counted only when asked to');
    const failing = source(async () => ({ live: true, labelsRead: [] }));
    failing.countCall = async () => Promise.reject(new Error('down'));
    assert.equal(await run(taskStateStep(failing, { countCalls: true }), s), undefined);
    // Without the mark the store is asked, whatever else the context holds.
    const asked = source(async () => ({ live: false, labelsRead: [] }));
    const unmarked = {
      ctx: { task: labelled, taskReadLive: false },
      task: labelled,
      record: {},
    } as unknown as CallState;
    const outcome = await run(taskStateStep(asked), unmarked);
    assert.ok(outcome !== undefined && 'end' in outcome && outcome.end.code === 'TASK_ENDED');
    assert.deepEqual(asked.asked, ['task-1']);
  });

  it('is named task', () => {
    assert.equal(taskStateStep(source(async () => ({ live: true, labelsRead: [] }))).name, 'task');
  });
});

describe('task state source', () => {
  const task = (overrides: Partial<Task> = {}): Task => ({
    id: 'task-1',
    agentId: 'agent-1',
    intent: 'x',
    createdAt: 0,
    expiresAt: 2_000,
    labelsRead: ['pii'],
    callCount: 0,
    ...overrides,
  });
  const store = (value: Task | undefined, calls: string[] = []): TaskStore =>
    ({
      get: async () => value,
      getAndCountCall: async (id: string) => {
        calls.push(`read counting ${id}`);
        return value;
      },
      addLabels: async (id: string, labels: readonly string[]) => void calls.push(`labels ${id} ${labels.join(',')}`),
      incrementCalls: async (id: string) => {
        calls.push(`count ${id}`);
        return 1;
      },
    }) as unknown as TaskStore;

  it('reads a live task with its labels and expiry', async () => {
    assert.deepEqual(await createTaskStateSource(store(task()), () => 1_999).current('task-1'), {
      live: true,
      labelsRead: ['pii'],
      expiresAt: 2_000,
    });
  });

  it('reads an unknown, ended or expired task as not live, with no labels', async () => {
    const notLive = { live: false, labelsRead: [] };
    assert.deepEqual(await createTaskStateSource(store(undefined), () => 0).current('task-1'), notLive);
    assert.deepEqual(await createTaskStateSource(store(task({ endedAt: 5 })), () => 10).current('task-1'), notLive);
    assert.deepEqual(await createTaskStateSource(store(task()), () => 2_000).current('task-1'), notLive);
  });

  it('passes label additions and call counts to the store', async () => {
    const calls: string[] = [];
    const tasks = createTaskStateSource(store(task(), calls));
    await tasks.addLabels('task-1', ['a', 'b']);
    assert.equal(await tasks.countCall('task-1'), undefined);
    assert.deepEqual(calls, ['labels task-1 a,b', 'count task-1']);
  });

  it('reads and counts in one store operation when asked to count, the task judged as without', async () => {
    const calls: string[] = [];
    const live = createTaskStateSource(store(task(), calls), () => 1_999);
    assert.deepEqual(await live.current('task-1', { countCall: true }), {
      live: true,
      labelsRead: ['pii'],
      expiresAt: 2_000,
    });
    assert.deepEqual(calls, ['read counting task-1']);
    assert.deepEqual(await live.current('task-1', { countCall: false }), await live.current('task-1'));
    assert.deepEqual(calls, ['read counting task-1'], 'the others are plain reads');
    const expired = createTaskStateSource(store(task(), calls), () => 2_000);
    assert.deepEqual(await expired.current('task-1', { countCall: true }), { live: false, labelsRead: [] });
  });

  it('lets store errors through, so the caller refuses with a truthful code', async () => {
    const failing = { get: async () => Promise.reject(new Error('down')) } as unknown as TaskStore;
    await assert.rejects(createTaskStateSource(failing).current('task-1'), /down/);
  });
});
