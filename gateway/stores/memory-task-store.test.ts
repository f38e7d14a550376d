import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryTaskStore } from './memory-task-store.js';

describe('memory task store retention', () => {
  it('drops a task once its retention is over, sweeping as tasks are created', async () => {
    let clock = 1_000_000;
    const store = createMemoryTaskStore({ now: () => clock, retentionSeconds: 10 });
    const task = (id: string) => ({ id, agentId: 'a', intent: 'work', createdAt: clock, expiresAt: clock + 5_000 });
    await store.create(task('old'));
    await store.end('old', 'done');
    clock += 5_000;
    await store.create(task('within-retention'));
    assert.equal((await store.get('old'))?.endReason, 'done', 'kept (and reads as ended) during retention');
    clock += 10_001;
    await store.create(task('after-retention'));
    assert.equal(await store.get('old'), undefined, 'dropped after retention');
    assert.equal((await store.get('after-retention'))?.endedAt, undefined);
  });
});
