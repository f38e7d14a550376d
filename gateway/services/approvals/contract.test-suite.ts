/**
 * The behaviour every ApprovalQueue and GrantStore must show, written once and registered for each
 * implementation (memory, and BullMQ/Redis against a real Redis). Each test opens a fresh, isolated store
 * through the target and cleans it up afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callHash } from './call-hash.js';
import type { ApprovalQueueOptions } from './memory-queue.js';
import {
  ApprovalError,
  type ApprovalQueue,
  type ElevationRequest,
  type GrantStore,
  type StoredGrant,
  type Ticket,
} from './types.js';

export interface QueueTarget {
  /** A fresh queue in its own namespace; every queue of one target shares that namespace. */
  open(options: ApprovalQueueOptions): ApprovalQueue;
  /** Closes nothing; removes whatever the target stored. */
  cleanup(): Promise<void>;
}

export interface GrantTarget {
  open(options: { now: () => number }): GrantStore;
  cleanup(): Promise<void>;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

let sequence = 0;
export function elevationRequest(overrides: Partial<ElevationRequest> = {}): ElevationRequest {
  const n = ++sequence;
  const agentId = overrides.agentId ?? 'agent-1';
  const taskId = overrides.taskId ?? `task-${n}`;
  const tool = overrides.tool ?? 'billing_refund';
  const args = overrides.args ?? { invoice: `inv-${n}`, amount: 25 };
  return {
    agentId,
    taskId,
    intent: 'refund a duplicate charge',
    tool,
    operation: { method: 'POST', url: 'https://billing.example/v1/refunds' },
    args,
    argsHash: 'a'.repeat(64),
    callHash: callHash({ agentId, taskId, tool, method: 'POST', url: 'https://billing.example/v1/refunds', args }),
    rules: ['refunds-need-approval'],
    requiredApprovers: 1,
    requestedBy: 'owner-of-agent-1',
    expiresInSeconds: 600,
    ...overrides,
  };
}

/** Resolves with the first ticket `onChange` reports that matches. */
export function nextChange(queue: ApprovalQueue, match: (t: Ticket) => boolean): Promise<Ticket> {
  return new Promise((resolve) => {
    const unsubscribe = queue.onChange!((ticket) => {
      if (!match(ticket)) return;
      unsubscribe();
      resolve(ticket);
    });
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof ApprovalError && error.code === code);
}

const LONG_WAIT = { timeoutMs: 20_000 };
/** A test that hangs fails instead of hanging the run. */
export const TEST_TIMEOUT_MS = 15_000;

export function registerApprovalQueueContract(name: string, makeTarget: () => Promise<QueueTarget>): void {
  const withQueue = (
    title: string,
    options: ApprovalQueueOptions,
    body: (queue: ApprovalQueue, target: QueueTarget) => Promise<void>,
  ): void => {
    test(`${name}: ${title}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const target = await makeTarget();
      const queue = target.open(options);
      try {
        await body(queue, target);
      } finally {
        await queue.close();
        await target.cleanup();
      }
    });
  };

  withQueue('a request opens a pending ticket that get and list return', {}, async (queue) => {
    const request = elevationRequest({
      justification: 'customer asked',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    const ticket = await queue.request(request);
    assert.equal(ticket.status, 'pending');
    assert.match(ticket.id, new RegExp(`^${request.callHash}-\\d+$`));
    assert.deepEqual(ticket.decisions, []);
    assert.equal(ticket.grant, undefined);
    assert.equal(Date.parse(ticket.expiresAt) - Date.parse(ticket.createdAt), 600_000);
    for (const field of [
      'agentId',
      'taskId',
      'tool',
      'operation',
      'args',
      'callHash',
      'rules',
      'requestedBy',
      'justification',
      'traceparent',
    ] as const) {
      assert.deepEqual(ticket[field], request[field], field);
    }
    assert.deepEqual(await queue.get(ticket.id), ticket);
    assert.deepEqual(await queue.list(), [ticket]);
    assert.equal(await queue.get('no-such-ticket'), undefined);
  });

  withQueue('a request is idempotent per call hash while pending', {}, async (queue) => {
    const request = elevationRequest();
    const [a, b] = await Promise.all([queue.request(request), queue.request({ ...request, justification: 'again' })]);
    assert.equal(a.id, b.id);
    const c = await queue.request(request);
    assert.equal(c.id, a.id);
    const other = await queue.request(elevationRequest());
    assert.notEqual(other.id, a.id);
    assert.equal((await queue.list()).length, 2);
  });

  withQueue('a decided call asked again gets a new ticket', {}, async (queue) => {
    const request = elevationRequest();
    const first = await queue.request(request);
    await queue.decide(first.id, { approve: false, approver: 'op-1', reason: 'not now' });
    const second = await queue.request(request);
    assert.notEqual(second.id, first.id);
    assert.equal(second.status, 'pending');
    assert.equal((await queue.get(first.id))?.status, 'denied');
  });

  withQueue(
    'approval by one approver grants the exact call, TTL capped by the maximum',
    { maxGrantSeconds: 60 },
    async (queue) => {
      const ticket = await queue.request(elevationRequest());
      const approved = await queue.decide(ticket.id, {
        approve: true,
        approver: 'op-1',
        reason: 'checked',
        ttlSeconds: 3600,
      });
      assert.equal(approved.status, 'approved');
      assert.equal(approved.grant?.scope, 'call');
      assert.equal(approved.grant?.uses, 1);
      const decidedAt = Date.parse(approved.decisions[0]!.at);
      assert.equal(Date.parse(approved.grant!.expiresAt) - decidedAt, 60_000);
      assert.equal(approved.decisions.length, 1);
      assert.equal(approved.decisions[0]!.approver, 'op-1');
      assert.equal(approved.decisions[0]!.reason, 'checked');
      assert.deepEqual(await queue.get(ticket.id), approved);
    },
  );

  withQueue(
    "the request's own maximum caps the grant too; scope and uses are honoured",
    { maxGrantSeconds: 900 },
    async (queue) => {
      const ticket = await queue.request(elevationRequest({ maxGrantSeconds: 30 }));
      const approved = await queue.decide(ticket.id, {
        approve: true,
        approver: 'op-1',
        reason: '',
        ttlSeconds: 600,
        scope: 'task-tool',
      });
      assert.equal(approved.grant?.scope, 'task-tool');
      assert.equal(Date.parse(approved.grant!.expiresAt) - Date.parse(approved.decisions[0]!.at), 30_000);
      const other = await queue.request(elevationRequest());
      const withUses = await queue.decide(other.id, { approve: true, approver: 'op-1', reason: '', uses: 3 });
      assert.equal(withUses.grant?.uses, 3);
    },
  );

  withQueue(
    'no self-approval: requester, agent or isSelf cannot decide',
    { isSelf: (approver) => approver === 'agent-owner-2' },
    async (queue) => {
      const ticket = await queue.request(elevationRequest());
      await rejectsWith(
        queue.decide(ticket.id, { approve: true, approver: 'owner-of-agent-1', reason: 'mine' }),
        'SELF_APPROVAL',
      );
      await rejectsWith(queue.decide(ticket.id, { approve: true, approver: 'agent-1', reason: 'me' }), 'SELF_APPROVAL');
      await rejectsWith(
        queue.decide(ticket.id, { approve: false, approver: 'agent-owner-2', reason: 'owner' }),
        'SELF_APPROVAL',
      );
      const after = await queue.get(ticket.id);
      assert.equal(after?.status, 'pending');
      assert.deepEqual(after?.decisions, []);
    },
  );

  withQueue('a reason is required to deny', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    await rejectsWith(queue.decide(ticket.id, { approve: false, approver: 'op-1', reason: '  ' }), 'REASON_REQUIRED');
    assert.equal((await queue.get(ticket.id))?.status, 'pending');
    const approved = await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: '' });
    assert.equal(approved.status, 'approved');
  });

  withQueue(
    'requireApproveReason makes a reason required to approve',
    { requireApproveReason: true },
    async (queue) => {
      const ticket = await queue.request(elevationRequest());
      await rejectsWith(queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: '' }), 'REASON_REQUIRED');
      assert.equal(
        (await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' })).status,
        'approved',
      );
    },
  );

  withQueue('deciding a decided ticket is NOT_PENDING; an unknown one NOT_FOUND', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' });
    await rejectsWith(queue.decide(ticket.id, { approve: false, approver: 'op-2', reason: 'too late' }), 'NOT_PENDING');
    await rejectsWith(queue.decide('missing-1', { approve: true, approver: 'op-1', reason: 'x' }), 'NOT_FOUND');
    assert.equal((await queue.get(ticket.id))?.status, 'approved');
  });

  withQueue(
    'N approvers: distinct approvals needed, the same approver counts once, the grant is the narrowest',
    {},
    async (queue) => {
      const ticket = await queue.request(elevationRequest({ requiredApprovers: 2 }));
      const first = await queue.decide(ticket.id, {
        approve: true,
        approver: 'op-1',
        reason: 'fine',
        ttlSeconds: 300,
        scope: 'task-tool',
      });
      assert.equal(first.status, 'pending');
      const again = await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'still fine' });
      assert.equal(again.status, 'pending');
      assert.equal(again.decisions.length, 1);
      const second = await queue.decide(ticket.id, {
        approve: true,
        approver: 'op-2',
        reason: 'agree',
        ttlSeconds: 120,
        scope: 'call',
      });
      assert.equal(second.status, 'approved');
      assert.deepEqual(
        second.decisions.map((d) => d.approver),
        ['op-1', 'op-2'],
      );
      assert.equal(second.grant?.scope, 'call');
      assert.equal(Date.parse(second.grant!.expiresAt) - Date.parse(second.decisions[1]!.at), 120_000);
    },
  );

  withQueue('deny wins over earlier approvals', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest({ requiredApprovers: 3 }));
    await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' });
    await queue.decide(ticket.id, { approve: true, approver: 'op-2', reason: 'ok' });
    const denied = await queue.decide(ticket.id, { approve: false, approver: 'op-3', reason: 'amount too high' });
    assert.equal(denied.status, 'denied');
    assert.equal(denied.grant, undefined);
    await rejectsWith(queue.decide(ticket.id, { approve: true, approver: 'op-4', reason: 'ok' }), 'NOT_PENDING');
  });

  withQueue('concurrent decisions on one ticket: exactly one wins', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        queue.decide(ticket.id, { approve: i % 2 === 0, approver: `op-${i}`, reason: `decision ${i}` }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as ApprovalError).code, 'NOT_PENDING');
    const final = await queue.get(ticket.id);
    assert.equal(final?.decisions.length, 1);
    assert.deepEqual(final, (won[0] as PromiseFulfilledResult<Ticket>).value);
  });

  const clock = manualClock();
  withQueue(
    'a pending ticket expires: reads as expired, cannot be decided, the call gets a new ticket',
    { now: clock.now },
    async (queue) => {
      const request = elevationRequest({ expiresInSeconds: 60 });
      const ticket = await queue.request(request);
      clock.advance(59_000);
      assert.equal((await queue.get(ticket.id))?.status, 'pending');
      clock.advance(1_000);
      assert.equal((await queue.get(ticket.id))?.status, 'expired');
      assert.deepEqual(
        (await queue.list({ status: 'expired' })).map((t) => t.id),
        [ticket.id],
      );
      assert.deepEqual(await queue.list({ status: 'pending' }), []);
      await rejectsWith(queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'late' }), 'NOT_PENDING');
      const next = await queue.request(request);
      assert.notEqual(next.id, ticket.id);
      assert.equal(next.status, 'pending');
    },
  );

  withQueue('wait resolves as soon as the ticket is approved', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const waiting = queue.wait(ticket.id, { signal: new AbortController().signal, ...LONG_WAIT });
    await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' });
    const outcome = await waiting;
    assert.equal(outcome.status, 'approved');
    assert.equal(outcome.ticket.grant?.scope, 'call');
  });

  withQueue('wait resolves with denied, and at once for a ticket already decided', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const waiting = queue.wait(ticket.id, { signal: new AbortController().signal, ...LONG_WAIT });
    await queue.decide(ticket.id, { approve: false, approver: 'op-1', reason: 'no' });
    assert.equal((await waiting).status, 'denied');
    assert.equal(
      (await queue.wait(ticket.id, { signal: new AbortController().signal, ...LONG_WAIT })).status,
      'denied',
    );
  });

  withQueue('wait times out as pending and the ticket stays open', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const outcome = await queue.wait(ticket.id, { signal: new AbortController().signal, timeoutMs: 50 });
    assert.equal(outcome.status, 'pending');
    assert.equal(outcome.status === 'pending' && outcome.timedOut, true);
    assert.equal((await queue.get(ticket.id))?.status, 'pending');
    assert.equal((await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' })).status, 'approved');
  });

  withQueue('wait resolves expired when the request expires', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest({ expiresInSeconds: 0.2 }));
    const outcome = await queue.wait(ticket.id, { signal: new AbortController().signal, ...LONG_WAIT });
    assert.equal(outcome.status, 'expired');
    assert.equal(outcome.ticket.id, ticket.id);
  });

  withQueue('wait reports progress while it waits', { progressIntervalMs: 10 }, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const seen: number[] = [];
    const outcome = await queue.wait(ticket.id, {
      signal: new AbortController().signal,
      ...LONG_WAIT,
      onProgress: (elapsed) => {
        seen.push(elapsed);
        // Decide from the progress callback: the wait can only end approved if progress was reported.
        if (seen.length === 1) void queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' });
      },
    });
    assert.equal(outcome.status, 'approved');
    assert.ok(seen.length >= 1 && seen.every((ms) => ms >= 0));
  });

  withQueue('wait rejects when aborted, and for an unknown ticket', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const controller = new AbortController();
    const waiting = queue.wait(ticket.id, { signal: controller.signal, ...LONG_WAIT });
    controller.abort(new Error('client went away'));
    await assert.rejects(waiting, /client went away/);
    await rejectsWith(queue.wait('missing-1', { signal: new AbortController().signal, ...LONG_WAIT }), 'NOT_FOUND');
    assert.equal((await queue.get(ticket.id))?.status, 'pending');
  });

  withQueue('onChange reports new, decided and expired tickets', {}, async (queue) => {
    const created = nextChange(queue, (t) => t.status === 'pending');
    const ticket = await queue.request(elevationRequest());
    assert.equal((await created).id, ticket.id);
    const decided = nextChange(queue, (t) => t.id === ticket.id && t.status === 'approved');
    await queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'ok' });
    assert.equal((await decided).decisions.length, 1);
    const expiring = await queue.request(elevationRequest({ expiresInSeconds: 0.2 }));
    const expired = await nextChange(queue, (t) => t.id === expiring.id && t.status === 'expired');
    assert.equal(expired.status, 'expired');
  });

  withQueue('list filters by status, agent and task, newest first, with a limit', {}, async (queue) => {
    const a = await queue.request(elevationRequest({ agentId: 'agent-a', taskId: 'task-x' }));
    const b = await queue.request(elevationRequest({ agentId: 'agent-b', taskId: 'task-x' }));
    const c = await queue.request(elevationRequest({ agentId: 'agent-a', taskId: 'task-y' }));
    await queue.decide(b.id, { approve: false, approver: 'op-1', reason: 'no' });
    assert.deepEqual((await queue.list({ agentId: 'agent-a' })).map((t) => t.id).sort(), [a.id, c.id].sort());
    assert.deepEqual((await queue.list({ taskId: 'task-x' })).map((t) => t.id).sort(), [a.id, b.id].sort());
    assert.deepEqual(
      (await queue.list({ status: 'denied' })).map((t) => t.id),
      [b.id],
    );
    assert.deepEqual(
      (await queue.list({ status: 'pending', agentId: 'agent-a', taskId: 'task-y' })).map((t) => t.id),
      [c.id],
    );
    assert.equal((await queue.list({ limit: 2 })).length, 2);
    const all = await queue.list();
    assert.equal(all.length, 3);
    const created = all.map((t) => Date.parse(t.createdAt));
    assert.deepEqual(
      created,
      [...created].sort((x, y) => y - x),
    );
  });

  withQueue('a malformed request is refused', {}, async (queue) => {
    await assert.rejects(queue.request({ ...elevationRequest(), callHash: 'not-a-hash' }), TypeError);
    await assert.rejects(queue.request({ ...elevationRequest(), requestedBy: '' }), TypeError);
    await assert.rejects(queue.request({ ...elevationRequest(), expiresInSeconds: 0 }), TypeError);
    assert.deepEqual(await queue.list(), []);
  });

  withQueue('close ends waits in flight and refuses further use', {}, async (queue) => {
    const ticket = await queue.request(elevationRequest());
    const waiting = queue.wait(ticket.id, { signal: new AbortController().signal, ...LONG_WAIT });
    const rejected = rejectsWith(waiting, 'STORE_UNAVAILABLE');
    await queue.close();
    await rejected;
    await rejectsWith(queue.get(ticket.id), 'STORE_UNAVAILABLE');
  });
}

export function registerGrantStoreContract(name: string, makeTarget: () => Promise<GrantTarget>): void {
  const withStore = (
    title: string,
    body: (store: GrantStore, clock: ReturnType<typeof manualClock>, target: GrantTarget) => Promise<void>,
  ): void => {
    test(`${name}: ${title}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const target = await makeTarget();
      const clock = manualClock();
      const store = target.open({ now: clock.now });
      try {
        await body(store, clock, target);
      } finally {
        await store.close();
        await target.cleanup();
      }
    });
  };
  const hash = (n: number): string =>
    callHash({ agentId: 'agent-1', taskId: 'task-1', tool: 'billing_refund', args: { n } });
  const grant = (overrides: Partial<StoredGrant> = {}): StoredGrant => ({
    ticketId: `${hash(1)}-1`,
    scope: 'call',
    agentId: 'agent-1',
    taskId: 'task-1',
    tool: 'billing_refund',
    callHash: hash(1),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    usesLeft: 1,
    approvers: ['op-1'],
    ...overrides,
  });
  const query = (n: number, taskId = 'task-1', tool = 'billing_refund') => ({ callHash: hash(n), taskId, tool });

  withStore('a call grant covers exactly its call, once', async (store) => {
    await store.put(grant());
    assert.equal(await store.consume(query(2)), undefined);
    assert.equal(await store.consume({ ...query(1), tool: 'billing_other' }), undefined);
    const used = await store.consume(query(1));
    assert.equal(used?.ticketId, grant().ticketId);
    assert.equal(used?.usesLeft, 0);
    assert.deepEqual(used?.approvers, ['op-1']);
    assert.equal(await store.consume(query(1)), undefined);
  });

  withStore('a call grant with more uses is usable that many times', async (store) => {
    await store.put(grant({ usesLeft: 3 }));
    assert.deepEqual(
      [
        (await store.consume(query(1)))?.usesLeft,
        (await store.consume(query(1)))?.usesLeft,
        (await store.consume(query(1)))?.usesLeft,
      ],
      [2, 1, 0],
    );
    assert.equal(await store.consume(query(1)), undefined);
  });

  withStore('put is create-if-absent: a second put does not renew uses', async (store) => {
    await store.put(grant());
    assert.ok(await store.consume(query(1)));
    await store.put(grant({ usesLeft: 5 }));
    assert.equal(await store.consume(query(1)), undefined);
  });

  withStore('a task-tool grant covers any call of that tool in that task, uncounted', async (store) => {
    await store.put(grant({ scope: 'task-tool', ticketId: 'tt-1' }));
    for (const n of [1, 2, 3]) assert.equal((await store.consume(query(n)))?.scope, 'task-tool');
    assert.equal(await store.consume(query(1, 'task-2')), undefined);
    assert.equal(await store.consume(query(1, 'task-1', 'billing_other')), undefined);
  });

  withStore('the exact call grant is used before a task-tool grant', async (store) => {
    await store.put(grant({ scope: 'task-tool', ticketId: 'tt-1' }));
    await store.put(grant());
    assert.equal((await store.consume(query(1)))?.scope, 'call');
    assert.equal((await store.consume(query(1)))?.scope, 'task-tool');
  });

  withStore('grants expire', async (store, clock) => {
    const expiresAt = new Date(clock.now() + 30_000).toISOString();
    await store.put(grant({ expiresAt, usesLeft: 2 }));
    await store.put(grant({ scope: 'task-tool', ticketId: 'tt-1', expiresAt }));
    clock.advance(29_000);
    assert.equal((await store.consume(query(1)))?.scope, 'call');
    clock.advance(1_000);
    assert.equal(await store.consume(query(1)), undefined);
    assert.equal(await store.consume(query(2)), undefined);
    await store.put(grant({ ticketId: 'late-1', expiresAt }));
    assert.equal(await store.consume(query(1)), undefined);
  });

  withStore('ending a task removes its grants and refuses new ones', async (store) => {
    await store.put(grant({ usesLeft: 2 }));
    await store.put(grant({ scope: 'task-tool', ticketId: 'tt-1' }));
    await store.put(
      grant({
        ticketId: 'other-task',
        taskId: 'task-2',
        callHash: callHash({ agentId: 'agent-1', taskId: 'task-2', tool: 'billing_refund', args: {} }),
      }),
    );
    await store.endTask('task-1');
    assert.equal(await store.consume(query(1)), undefined);
    assert.equal(await store.consume(query(2)), undefined);
    await store.put(grant({ ticketId: 'after-end' }));
    assert.equal(await store.consume(query(1)), undefined);
    const other = await store.consume({
      callHash: callHash({ agentId: 'agent-1', taskId: 'task-2', tool: 'billing_refund', args: {} }),
      taskId: 'task-2',
      tool: 'billing_refund',
    });
    assert.equal(other?.ticketId, 'other-task');
  });

  withStore('concurrent consumers cannot spend one use twice', async (store) => {
    await store.put(grant({ usesLeft: 3 }));
    const results = await Promise.all(Array.from({ length: 10 }, () => store.consume(query(1))));
    assert.equal(results.filter((r) => r !== undefined).length, 3);
  });

  withStore('a malformed grant is refused', async (store) => {
    await assert.rejects(store.put({ ...grant(), callHash: undefined } as unknown as StoredGrant), TypeError);
    await assert.rejects(store.put(grant({ ticketId: '' })), TypeError);
    assert.equal(await store.consume(query(1)), undefined);
  });
}
