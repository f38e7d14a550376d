import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callHash } from './call-hash.js';
import { elevationRequest, manualClock, registerGrantStoreContract } from './contract.test-suite.js';
import { checkGrant, createMemoryGrantStore, DEFAULT_ENDED_TASK_SECONDS, grantFromTicket } from './grants.js';
import type { StoredGrant, Ticket } from './types.js';

registerGrantStoreContract('memory grants', async () => ({
  open: (options) => createMemoryGrantStore(options),
  cleanup: async () => {},
}));

const hash = callHash({ agentId: 'agent-1', taskId: 'task-1', tool: 'billing_refund', args: { n: 1 } });
const grant = (overrides: Partial<StoredGrant> = {}): StoredGrant => ({
  ticketId: 'ticket-1',
  scope: 'call',
  agentId: 'agent-1',
  taskId: 'task-1',
  tool: 'billing_refund',
  callHash: hash,
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
  usesLeft: 1,
  approvers: ['op-1'],
  ...overrides,
});
const query = { callHash: hash, taskId: 'task-1', tool: 'billing_refund' };

function ticket(overrides: Partial<Ticket> = {}): Ticket {
  return {
    ...elevationRequest({ agentId: 'agent-1', taskId: 'task-1' }),
    id: 'ticket-1',
    status: 'approved',
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:10:00.000Z',
    decisions: [
      { approver: 'op-1', approve: true, reason: 'ok', at: '2026-01-01T00:01:00.000Z' },
      { approver: 'op-2', approve: false, reason: 'no', at: '2026-01-01T00:01:30.000Z' },
      { approver: 'op-1', approve: true, reason: 'again', at: '2026-01-01T00:02:00.000Z' },
      { approver: 'op-3', approve: true, reason: 'ok', at: '2026-01-01T00:03:00.000Z' },
    ],
    grant: { scope: 'call', expiresAt: '2026-01-01T01:00:00.000Z' },
    ...overrides,
  };
}

describe('grantFromTicket', () => {
  it('carries the call hash, one use by default, and each approving operator once', () => {
    const t = ticket();
    assert.deepEqual(grantFromTicket(t), {
      ticketId: 'ticket-1',
      scope: 'call',
      agentId: 'agent-1',
      taskId: 'task-1',
      tool: 'billing_refund',
      callHash: t.callHash,
      expiresAt: '2026-01-01T01:00:00.000Z',
      usesLeft: 1,
      approvers: ['op-1', 'op-3'],
    });
  });

  it('gives a call grant the uses the operator approved', () => {
    const t = ticket({ grant: { scope: 'call', expiresAt: '2026-01-01T01:00:00.000Z', uses: 3 } });
    assert.equal(grantFromTicket(t).usesLeft, 3);
  });

  it('gives a task-tool grant no call hash and ignores uses', () => {
    const g = grantFromTicket(
      ticket({ grant: { scope: 'task-tool', expiresAt: '2026-01-01T01:00:00.000Z', uses: 5 } }),
    );
    assert.equal(g.scope, 'task-tool');
    assert.equal('callHash' in g, false);
    assert.equal(g.usesLeft, 1);
  });

  it('refuses a ticket that is not approved, or approved without a grant', () => {
    for (const status of ['pending', 'denied', 'expired'] as const)
      assert.throws(() => grantFromTicket(ticket({ status })), {
        name: 'TypeError',
        message: `approval request ticket-1 is ${status}, not approved`,
      });
    const { grant: _grant, ...withoutGrant } = ticket();
    assert.throws(() => grantFromTicket(withoutGrant), {
      name: 'TypeError',
      message: 'approval request ticket-1 is approved, not approved',
    });
  });
});

describe('checkGrant', () => {
  it('accepts a well-formed call or task-tool grant', () => {
    checkGrant(grant());
    checkGrant(grant({ scope: 'task-tool', usesLeft: 0 }));
    const { callHash: _hash, ...taskTool } = grant({ scope: 'task-tool' });
    checkGrant(taskTool);
  });

  it('refuses a grant that does not name its ticket, agent, task or tool', () => {
    for (const key of ['ticketId', 'agentId', 'taskId', 'tool'] as const) {
      assert.throws(() => checkGrant(grant({ [key]: '' })), {
        name: 'TypeError',
        message: 'grant must name its ticket, agent, task and tool',
      });
      assert.throws(() => checkGrant(grant({ [key]: 7 as unknown as string })), TypeError);
    }
  });

  it('refuses an unknown scope, a call grant without a call hash, a bad date or use count', () => {
    assert.throws(() => checkGrant(grant({ scope: 'task' as StoredGrant['scope'] })), {
      message: 'grant scope must be call or task-tool',
    });
    assert.throws(() => checkGrant(grant({ callHash: 'not-a-hash' })), {
      message: 'a call grant needs the call hash it covers',
    });
    assert.throws(() => checkGrant(grant({ expiresAt: 'tomorrow' })), {
      message: 'grant expiresAt must be an ISO date',
    });
    for (const usesLeft of [-1, 1.5, Number.NaN])
      assert.throws(() => checkGrant(grant({ usesLeft })), {
        message: 'grant usesLeft must be a non-negative integer',
      });
  });

  it('remembers an ended task for a day by default', () => {
    assert.equal(DEFAULT_ENDED_TASK_SECONDS, 86_400);
  });
});

describe('memory grant store', () => {
  it('keeps a copy: changing the stored or returned grant changes nothing in the store', async () => {
    const store = createMemoryGrantStore();
    const approvers = ['op-1'];
    await store.put(grant({ usesLeft: 2, approvers }));
    approvers.push('intruder');
    const first = await store.consume(query);
    assert.deepEqual(first?.approvers, ['op-1']);
    first!.approvers.push('intruder');
    first!.usesLeft = 99;
    const second = await store.consume(query);
    assert.deepEqual(second?.approvers, ['op-1']);
    assert.equal(second?.usesLeft, 0);
    const taskTool = createMemoryGrantStore();
    await taskTool.put(grant({ scope: 'task-tool' }));
    ((await taskTool.consume(query))!.approvers as string[]).push('intruder');
    assert.deepEqual((await taskTool.consume(query))?.approvers, ['op-1']);
  });

  it('matches a call grant on task and tool too, and a task-tool grant on neither call hash nor agent', async () => {
    const store = createMemoryGrantStore();
    await store.put(grant());
    assert.equal(await store.consume({ ...query, taskId: 'task-2' }), undefined);
    assert.equal(await store.consume({ ...query, tool: 'billing_other' }), undefined);
    assert.equal((await store.consume(query))?.ticketId, 'ticket-1');
  });

  it('does not store a grant that has already expired, and drops expired grants', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const store = createMemoryGrantStore({ now: clock.now });
    await store.put(grant({ expiresAt: '2026-01-01T00:00:00.000Z' }));
    assert.equal(await store.consume(query), undefined);
    await store.put(grant({ ticketId: 'ticket-2', expiresAt: '2026-01-01T00:00:00.001Z', usesLeft: 2 }));
    assert.equal((await store.consume(query))?.ticketId, 'ticket-2');
    clock.advance(1);
    assert.equal(await store.consume(query), undefined);
  });

  it('forgets an expired grant, so its ticket can be granted again', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const store = createMemoryGrantStore({ now: clock.now });
    await store.put(grant({ expiresAt: '2026-01-01T00:00:01.000Z' }));
    clock.advance(2_000);
    await store.put(grant({ expiresAt: '2026-01-01T01:00:00.000Z' }));
    assert.equal((await store.consume(query))?.expiresAt, '2026-01-01T01:00:00.000Z');
  });

  it('refuses grants for an ended task only as long as it remembers the task', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const store = createMemoryGrantStore({ now: clock.now, endedTaskSeconds: 10 });
    const expiresAt = '2026-01-02T00:00:00.000Z';
    await store.endTask('task-1');
    clock.advance(9_999);
    await store.put(grant({ expiresAt }));
    assert.equal(await store.consume(query), undefined);
    clock.advance(1);
    await store.put(grant({ expiresAt }));
    assert.equal((await store.consume(query))?.ticketId, 'ticket-1');
  });

  it('keeps remembering an ended task for a day by default', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const store = createMemoryGrantStore({ now: clock.now });
    await store.endTask('task-1');
    clock.advance(86_399_999);
    await store.put(grant({ expiresAt: '2026-01-03T00:00:00.000Z' }));
    assert.equal(await store.consume(query), undefined);
    clock.advance(1);
    await store.put(grant({ expiresAt: '2026-01-03T00:00:00.000Z' }));
    assert.ok(await store.consume(query));
  });

  it('ending one task leaves the grants of another', async () => {
    const store = createMemoryGrantStore();
    await store.put(grant({ scope: 'task-tool', ticketId: 'tt-2', taskId: 'task-2' }));
    await store.endTask('task-1');
    assert.equal((await store.consume({ ...query, taskId: 'task-2' }))?.ticketId, 'tt-2');
  });

  it('refuses every operation once closed', async () => {
    const store = createMemoryGrantStore();
    await store.put(grant());
    await store.close();
    for (const op of [() => store.put(grant()), () => store.consume(query), () => store.endTask('task-1')])
      await assert.rejects(op(), { code: 'STORE_UNAVAILABLE', message: 'the grant store is closed' });
  });
});
