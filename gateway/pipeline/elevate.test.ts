import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { HttpOperation, JsonObject, ProgressUpdate } from '../../connectors/contract.js';
import type { ApprovalsConfig } from '../config/index.js';
import { GatewayError } from '../kernel/index.js';
import {
  ApprovalError,
  callHash,
  createMemoryApprovalQueue,
  createMemoryGrantStore,
  type ApprovalQueue,
  type ElevationRequest,
  type GrantStore,
  type StoredGrant,
  type Ticket,
} from '../services/approvals/index.js';
import { startWait, type WaitOptions } from '../services/approvals/wait.js';
import { createMemoryAuditSink } from '../services/audit/index.js';
import { elevate, type Elevation, type ElevationInput, type ElevationResult } from './elevate.js';

const config: ApprovalsConfig = {
  mode: 'wait',
  waitSeconds: 30,
  pendingTtlSeconds: 600,
  maxGrantSeconds: 900,
  requireApproveReason: false,
  offerRequestTool: false,
};

const operation: HttpOperation = {
  method: 'POST',
  scheme: 'https',
  host: 'billing.example',
  port: 443,
  path: '/refunds',
  query: 'dry=0',
  url: 'https://billing.example:443/refunds?dry=0',
};

const args: JsonObject = { amount: 5, card: '4111-1111' };

/** The smallest call that needs approval: an MCP tool, no optional facts. */
function input(overrides: Partial<ElevationInput> = {}): ElevationInput {
  return {
    principal: { agentId: 'agent-7', roles: [], authMethod: 'api-key' },
    task: { id: 'task-7' },
    tool: 'billing_refund',
    args,
    argsHash: 'args-hash-7',
    decision: { effect: 'approve', rules: ['refunds-need-approval'], reason: 'refunds need an operator' },
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** The call hash of `input()`: what a grant must carry to cover it. */
const plainHash = callHash({ agentId: 'agent-7', taskId: 'task-7', tool: 'billing_refund', args });

/** A real queue that also keeps what elevate asked of it. */
interface RecordingQueue extends ApprovalQueue {
  requests: ElevationRequest[];
  waits: WaitOptions[];
}

function recording(inner: ApprovalQueue): RecordingQueue {
  const requests: ElevationRequest[] = [];
  const waits: WaitOptions[] = [];
  return {
    ...inner,
    requests,
    waits,
    request: (r) => {
      requests.push(r);
      return inner.request(r);
    },
    wait: (id, o) => {
      waits.push(o);
      return inner.wait(id, o);
    },
  };
}

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

interface Setup {
  elevation: Elevation;
  queue: RecordingQueue;
  grants: GrantStore;
}

/**
 * Memory queue and grant store. `operator` runs once the waiting call is under way (on the next turn of the
 * event loop after the request is filed), as an operator deciding on the console would.
 */
function setup(
  options: {
    config?: Partial<ApprovalsConfig>;
    operator?: (ticket: Ticket, queue: ApprovalQueue) => Promise<unknown>;
    queueNow?: () => number;
    grantsNow?: () => number;
    wrap?: (queue: ApprovalQueue) => ApprovalQueue;
  } = {},
): Setup {
  const inner: ApprovalQueue = createMemoryApprovalQueue({
    ...(options.queueNow !== undefined ? { now: options.queueNow } : {}),
    onCreated: (ticket) => {
      const operator = options.operator;
      if (operator !== undefined) setImmediate(() => void operator(ticket, inner));
    },
  });
  const queue = recording(options.wrap?.(inner) ?? inner);
  const grants = createMemoryGrantStore(options.grantsNow !== undefined ? { now: options.grantsNow } : {});
  opened.push(inner, grants);
  return {
    elevation: {
      queue,
      grants,
      audit: createMemoryAuditSink(),
      config: { ...config, ...options.config },
      redactArgs: (a) => ({ ...a, card: '***' }),
    },
    queue,
    grants,
  };
}

function refused(result: ElevationResult): GatewayError {
  assert.ok('refused' in result, `expected a refusal, got ${JSON.stringify(result)}`);
  return result.refused;
}

function granted(result: ElevationResult): StoredGrant {
  assert.ok('granted' in result, `expected a grant, got ${JSON.stringify(result)}`);
  return result.granted;
}

const approve = (ticket: Ticket, queue: ApprovalQueue, extra: { scope?: 'call' | 'task-tool' } = {}) =>
  queue.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'looks right', ...extra });

describe('elevate', () => {
  it('files a request bound to exactly this call, with every fact the operator needs, and answers APPROVAL_PENDING in return mode', async () => {
    const { elevation, queue } = setup({ config: { mode: 'return' } });
    const result = await elevate(
      elevation,
      input({
        principal: { agentId: 'agent-7', roles: [], authMethod: 'api-key', tenant: 'acme' },
        task: { id: 'task-7', intent: 'refund order 42' },
        operation,
        justification: 'customer asked twice',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        decision: {
          effect: 'approve',
          rules: ['refunds-need-approval', 'large-amounts'],
          reason: 'refunds need an operator',
          approval: { approvers: 2, maxTtlSeconds: 300 },
        },
      }),
    );
    const hash = callHash({
      agentId: 'agent-7',
      taskId: 'task-7',
      tool: 'billing_refund',
      method: 'POST',
      url: operation.url,
      args,
    });
    assert.deepEqual(queue.requests, [
      {
        agentId: 'agent-7',
        tenant: 'acme',
        taskId: 'task-7',
        intent: 'refund order 42',
        tool: 'billing_refund',
        operation: { method: 'POST', url: operation.url },
        args: { amount: 5, card: '***' },
        argsHash: 'args-hash-7',
        callHash: hash,
        rules: ['refunds-need-approval', 'large-amounts'],
        reason: 'refunds need an operator',
        justification: 'customer asked twice',
        requiredApprovers: 2,
        requestedBy: 'agent-7',
        expiresInSeconds: 600,
        maxGrantSeconds: 300,
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    ]);
    const error = refused(result);
    const [ticket] = await queue.list();
    assert.ok(ticket !== undefined);
    assert.equal(ticket.status, 'pending');
    assert.equal(error.code, 'APPROVAL_PENDING');
    assert.equal(
      error.message,
      `waiting for operator approval: request ${ticket.id}; retry the same call once it is approved`,
    );
    assert.deepEqual(error.details, { approvalId: ticket.id });
    assert.deepEqual(result, { refused: error, approvalId: ticket.id });
    assert.equal(queue.waits.length, 0, 'return mode never waits');
  });

  it('leaves out of the request what the call does not carry, and asks one approver under the gateway maximum', async () => {
    const { elevation, queue } = setup({ config: { mode: 'return' } });
    await elevate(elevation, input());
    assert.deepEqual(queue.requests, [
      {
        agentId: 'agent-7',
        taskId: 'task-7',
        tool: 'billing_refund',
        args: { amount: 5, card: '***' },
        argsHash: 'args-hash-7',
        callHash: plainHash,
        rules: ['refunds-need-approval'],
        reason: 'refunds need an operator',
        requiredApprovers: 1,
        requestedBy: 'agent-7',
        expiresInSeconds: 600,
        maxGrantSeconds: 900,
      },
    ]);
  });

  it('asks at least one approver and never lets a rule raise the grant above the gateway maximum', async () => {
    const { elevation, queue } = setup({ config: { mode: 'return' } });
    await elevate(
      elevation,
      input({
        decision: {
          effect: 'approve',
          rules: ['r'],
          reason: 'r',
          approval: { approvers: 0, maxTtlSeconds: 5000 },
        },
      }),
    );
    assert.equal(queue.requests[0]?.requiredApprovers, 1);
    assert.equal(queue.requests[0]?.maxGrantSeconds, 900);
  });

  it('files and returns at once when the agent only asks ahead, even in wait mode', async () => {
    const { elevation, queue } = setup();
    const error = refused(await elevate(elevation, input({ askOnly: true })));
    assert.equal(error.code, 'APPROVAL_PENDING');
    assert.equal(queue.requests.length, 1);
    assert.equal(queue.waits.length, 0);
  });

  it('runs the call under a grant that already covers it, filing nothing, and uses the grant up', async () => {
    const { elevation, queue, grants } = setup();
    await grants.put({
      ticketId: 'earlier-ticket',
      scope: 'call',
      agentId: 'agent-7',
      taskId: 'task-7',
      tool: 'billing_refund',
      callHash: plainHash,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      usesLeft: 1,
      approvers: ['op-1'],
    });
    const grant = granted(await elevate(elevation, input()));
    assert.equal(grant.ticketId, 'earlier-ticket');
    assert.equal(grant.usesLeft, 0);
    assert.equal(queue.requests.length, 0, 'nothing filed');

    const again = await elevate(elevation, input({ askOnly: true }));
    assert.equal(refused(again).code, 'APPROVAL_PENDING', 'the one use is spent: the next call asks again');
    assert.equal(queue.requests.length, 1);
  });

  it('waits for the operator, reporting what it waits for, and runs the call under the grant approved for it', async () => {
    const { elevation, queue, grants } = setup({ operator: (ticket, q) => approve(ticket, q) });
    const updates: ProgressUpdate[] = [];
    const controller = new AbortController();
    const result = await elevate(
      elevation,
      input({ signal: controller.signal, onProgress: (update) => updates.push(update) }),
    );
    const grant = granted(result);
    const [ticket] = await queue.list();
    assert.ok(ticket !== undefined);
    assert.equal(ticket.status, 'approved');
    assert.equal(grant.ticketId, ticket.id);
    assert.equal(grant.callHash, plainHash);
    assert.equal(grant.usesLeft, 0, 'the call used the one approved use');
    assert.equal(await grants.consume({ callHash: plainHash, taskId: 'task-7', tool: 'billing_refund' }), undefined);

    const message = `waiting for operator approval of request ${ticket.id}`;
    assert.deepEqual(updates, [{ progress: 0, total: 30, message }]);
    const [wait] = queue.waits;
    assert.ok(wait !== undefined);
    assert.equal(wait.signal, controller.signal);
    assert.equal(wait.timeoutMs, 30_000);
    // The queue reports elapsed milliseconds; the agent sees whole seconds of the same total.
    wait.onProgress?.(2500);
    wait.onProgress?.(999);
    assert.deepEqual(updates.slice(1), [
      { progress: 2, total: 30, message },
      { progress: 0, total: 30, message },
    ]);
  });

  it('waits without a progress listener', async () => {
    const { elevation, queue } = setup({ operator: (ticket, q) => approve(ticket, q, { scope: 'task-tool' }) });
    const grant = granted(await elevate(elevation, input()));
    assert.equal(grant.scope, 'task-tool');
    assert.doesNotThrow(() => queue.waits[0]?.onProgress?.(1000));
  });

  it('refuses APPROVAL_EXPIRED when the approved grant is no longer usable when the call runs', async () => {
    // The grant store's clock is a day ahead: the grant the operator gave has lapsed before the call uses it.
    const { elevation, queue } = setup({
      operator: (ticket, q) => approve(ticket, q),
      grantsNow: () => Date.now() + 86_400_000,
    });
    const result = await elevate(elevation, input());
    const [ticket] = await queue.list();
    assert.ok(ticket !== undefined);
    const error = refused(result);
    assert.equal(error.code, 'APPROVAL_EXPIRED');
    assert.equal(error.message, 'the approval was used or expired before the call ran');
    assert.deepEqual(result, { refused: error, approvalId: ticket.id });
  });

  it('refuses APPROVAL_DENIED with the reason of the operator who denied', async () => {
    const { elevation } = setup({
      operator: async (ticket, q) => {
        await q.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'looks fine' });
        await q.decide(ticket.id, { approve: false, approver: 'op-2', reason: 'too risky' });
      },
    });
    const result = await elevate(
      elevation,
      input({ decision: { effect: 'approve', rules: ['r'], reason: 'r', approval: { approvers: 2 } } }),
    );
    const error = refused(result);
    assert.equal(error.code, 'APPROVAL_DENIED');
    assert.equal(error.message, 'denied by an operator: too risky');
    assert.ok('approvalId' in result && result.approvalId !== undefined);
    assert.deepEqual(error.details, { approvalId: result.approvalId });
  });

  it('refuses APPROVAL_DENIED with a generic reason when the queue reports a denial without its decision', async () => {
    // The queue contract does not promise the denying decision is in the ticket (another store may keep
    // only part of the history): the call is refused all the same, and never with an approver's reason.
    const withoutDenials = (inner: ApprovalQueue): ApprovalQueue => ({
      ...inner,
      wait: async (id, o) => {
        const outcome = await inner.wait(id, o);
        if (outcome.status !== 'denied') return outcome;
        return {
          ...outcome,
          ticket: { ...outcome.ticket, decisions: outcome.ticket.decisions.filter((d) => d.approve) },
        };
      },
    });
    const { elevation } = setup({
      wrap: withoutDenials,
      operator: async (ticket, q) => {
        await q.decide(ticket.id, { approve: true, approver: 'op-1', reason: 'looks fine' });
        await q.decide(ticket.id, { approve: false, approver: 'op-2', reason: 'too risky' });
      },
    });
    const result = await elevate(
      elevation,
      input({ decision: { effect: 'approve', rules: ['r'], reason: 'r', approval: { approvers: 2 } } }),
    );
    const error = refused(result);
    assert.equal(error.code, 'APPROVAL_DENIED');
    assert.equal(error.message, 'denied by an operator: denied by an operator');
    assert.ok('approvalId' in result && result.approvalId !== undefined);
  });

  it('refuses APPROVAL_EXPIRED when the request expires without a decision', async () => {
    let now = Date.parse('2026-03-01T10:00:00.000Z');
    const { elevation } = setup({ queueNow: () => now });
    // The request's lifetime passes while the agent is told it waits.
    const result = await elevate(elevation, input({ onProgress: () => (now += 601_000) }));
    const error = refused(result);
    assert.ok('approvalId' in result && result.approvalId !== undefined);
    assert.equal(error.code, 'APPROVAL_EXPIRED');
    assert.equal(error.message, `approval request ${result.approvalId} expired without a decision`);
    assert.deepEqual(error.details, { approvalId: result.approvalId });
  });

  it('answers APPROVAL_PENDING when the wait ends before anyone decides, leaving the request open', async () => {
    const { elevation, queue } = setup({ config: { waitSeconds: 0.1 } });
    const result = await elevate(elevation, input());
    const error = refused(result);
    const [ticket] = await queue.list();
    assert.ok(ticket !== undefined);
    assert.equal(ticket.status, 'pending');
    assert.equal(error.code, 'APPROVAL_PENDING');
    assert.deepEqual(result, { refused: error, approvalId: ticket.id });
  });

  it('answers with the coded reason when the gateway ends the wait', async () => {
    const controller = new AbortController();
    const shutdown = new GatewayError('SHUTTING_DOWN', 'the gateway is shutting down');
    const { elevation } = setup({ operator: async () => controller.abort(shutdown) });
    const result = await elevate(elevation, input({ signal: controller.signal }));
    assert.deepEqual(result, { refused: shutdown });
    assert.equal(refused(result), shutdown);
  });

  it('answers CANCELLED when the agent cancels the wait', async () => {
    const controller = new AbortController();
    const { elevation } = setup({ operator: async () => controller.abort() });
    const result = await elevate(elevation, input({ signal: controller.signal }));
    const error = refused(result);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.message, 'the call was cancelled while waiting for approval');
    assert.deepEqual(result, { refused: error });
  });

  it('answers APPROVAL_LOST when the request vanishes with the store before a decision', async () => {
    // The store answers the first read and has lost the ticket by the next one.
    const losing = (inner: ApprovalQueue): ApprovalQueue => ({
      ...inner,
      wait: (id, o) => {
        let reads = 0;
        return startWait(
          {
            get: async (ticketId) => (reads++ === 0 ? inner.get(ticketId) : undefined),
            subscribe: (_id, listener) => {
              setImmediate(listener);
              return () => {};
            },
            now: Date.now,
          },
          id,
          o,
          { progressIntervalMs: 0, pollIntervalMs: 0 },
        ).promise;
      },
    });
    const { elevation, queue } = setup({ wrap: losing });
    const result = await elevate(elevation, input());
    const [ticket] = await queue.list();
    assert.ok(ticket !== undefined);
    const error = refused(result);
    assert.equal(error.code, 'APPROVAL_LOST');
    assert.equal(
      error.message,
      `approval request ${ticket.id} was lost with the approval store before a decision; retry the call to ask again`,
    );
    assert.ok(error.cause instanceof ApprovalError);
    assert.equal(error.cause.code, 'APPROVAL_LOST');
    assert.deepEqual(result, { refused: error });
  });

  it('answers APPROVAL_LOST when the store has lost the request by the wait’s very first read', async () => {
    // The read was in flight while the store lost its data, and came back after the loss, empty.
    const lostAtOnce = (inner: ApprovalQueue): ApprovalQueue => ({
      ...inner,
      wait: (id, o) =>
        startWait({ get: async () => undefined, subscribe: () => () => {}, now: Date.now }, id, o, {
          progressIntervalMs: 0,
          pollIntervalMs: 0,
        }).promise,
    });
    const { elevation, queue } = setup({ wrap: lostAtOnce });
    const result = await elevate(elevation, input());
    const [ticket] = await queue.list();
    assert.ok(ticket !== undefined, 'the request was filed');
    const error = refused(result);
    assert.equal(error.code, 'APPROVAL_LOST');
    assert.ok(error.cause instanceof ApprovalError);
    assert.equal(error.cause.code, 'APPROVAL_LOST');
  });

  it('fails closed with STORE_UNAVAILABLE when the approval store cannot answer', async () => {
    const { elevation, queue, grants } = setup();
    await grants.close();
    const result = await elevate(elevation, input());
    const error = refused(result);
    assert.equal(error.code, 'STORE_UNAVAILABLE');
    assert.equal(error.message, 'this call needs operator approval, and the approval store is unavailable');
    assert.ok(error.cause instanceof ApprovalError);
    assert.equal(error.cause.code, 'STORE_UNAVAILABLE');
    assert.deepEqual(result, { refused: error });
    assert.equal(queue.requests.length, 0, 'nothing filed');
  });

  it('lets any other failure propagate unchanged (a bug, not a policy outcome)', async () => {
    const { elevation } = setup({ config: { pendingTtlSeconds: 0 } });
    await assert.rejects(elevate(elevation, input()), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /invalid elevation request: expiresInSeconds/);
      return true;
    });

    // A collaborator that rejects with no error object at all.
    const { elevation: nullish } = setup();
    const throwing: GrantStore = { ...nullish.grants, consume: () => Promise.reject(null) };
    await assert.rejects(elevate({ ...nullish, grants: throwing }, input()), (error: unknown) => error === null);
  });
});
