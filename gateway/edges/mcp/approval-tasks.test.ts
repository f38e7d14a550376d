/**
 * The approval task runtime on its own (memory store and queue): what any instance answers, whatever the
 * instance that accepted the call is doing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../../kernel/index.js';
import { createMemoryApprovalQueue, type ApprovalQueue } from '../../services/approvals/index.js';
import { elevationRequest } from '../../services/approvals/contract.test-suite.js';
import { createMemoryApprovalTaskStore } from '../../stores/index.js';
import { createApprovalTasks } from './approval-tasks.js';

const agent: Principal = { agentId: 'agent-1', roles: [], authMethod: 'api-key' };

/** The accepting instance hangs (or crashed): its wait for the decision never returns. */
function hung(queue: ApprovalQueue): ApprovalQueue {
  return {
    ...queue,
    wait: (_id, { signal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  };
}

describe('approval tasks', () => {
  it('a denial is answered by any instance, even when the accepting one never hears of it', async () => {
    const queue = createMemoryApprovalQueue({});
    const store = createMemoryApprovalTaskStore();
    const accepting = createApprovalTasks({ store, queue: hung(queue) });
    const other = createApprovalTasks({ store, queue });
    let ran = 0;
    try {
      const ticket = await queue.request(elevationRequest());
      const created = await accepting.start({
        principal: agent,
        tool: 'billing_refund',
        approvalId: ticket.id,
        run: async () => {
          ran += 1;
          return { content: [] };
        },
      });
      const taskId = created['taskId'] as string;
      assert.equal((await other.get(agent, taskId))['status'], 'working');
      await queue.decide(ticket.id, { approve: false, approver: 'op-1', reason: 'not this one' });
      const seen = await other.get(agent, taskId);
      assert.equal(seen['status'], 'failed');
      assert.equal((seen['error'] as { data: { code: string } }).data.code, 'APPROVAL_DENIED');
      assert.equal(ran, 0);
    } finally {
      await accepting.close();
      await other.close();
      await queue.close();
    }
  });

  it('tells another principal that the task does not exist', async () => {
    const queue = createMemoryApprovalQueue({});
    const tasks = createApprovalTasks({ store: createMemoryApprovalTaskStore(), queue: hung(queue) });
    try {
      const ticket = await queue.request(elevationRequest());
      const created = await tasks.start({
        principal: agent,
        tool: 'billing_refund',
        approvalId: ticket.id,
        run: async () => ({ content: [] }),
      });
      const intruder: Principal = { ...agent, agentId: 'agent-2' };
      await assert.rejects(tasks.get(intruder, created['taskId'] as string), { code: 'NOT_FOUND' });
      await assert.rejects(tasks.cancel(intruder, created['taskId'] as string), { code: 'NOT_FOUND' });
      await assert.rejects(tasks.update(agent, created['taskId'] as string), { code: 'CONFLICT' });
    } finally {
      await tasks.close();
      await queue.close();
    }
  });
});
