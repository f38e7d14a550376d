import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elevationRequest } from './contract.test-suite.js';
import { applyDecision, currentTicket, openTicket, parseRequest } from './ticket-state.js';
import { ApprovalError, type Ticket } from './types.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const open = (overrides = {}): Ticket => openTicket('t-1', parseRequest(elevationRequest(overrides)), T0);
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof ApprovalError ? error.code : (error as Error).name;
  }
  return undefined;
};

test('requiredApprovers defaults to 1 and unknown request members are dropped', () => {
  const { requiredApprovers: _omitted, ...rest } = elevationRequest();
  const parsed = parseRequest({ ...rest, extra: 'x' } as never);
  assert.equal(parsed.requiredApprovers, 1);
  assert.equal((parsed as unknown as Record<string, unknown>)['extra'], undefined);
});

test('a ticket expires exactly at expiresAt', () => {
  const ticket = open({ expiresInSeconds: 10 });
  assert.equal(currentTicket(ticket, T0 + 9_999).status, 'pending');
  assert.equal(currentTicket(ticket, T0 + 10_000).status, 'expired');
});

test('an approver who approved and then denies ends the ticket (deny wins)', () => {
  const ticket = open({ requiredApprovers: 2 });
  const approved = applyDecision(ticket, { approve: true, approver: 'op-1', reason: '' }, {}, T0 + 1);
  const denied = applyDecision(approved, { approve: false, approver: 'op-1', reason: 'changed my mind' }, {}, T0 + 2);
  assert.equal(denied.status, 'denied');
  assert.equal(denied.decisions.length, 2);
});

test('a multi-approver grant takes the fewest uses; uses are capped by the maximum', () => {
  const ticket = open({ requiredApprovers: 2 });
  const one = applyDecision(ticket, { approve: true, approver: 'op-1', reason: '', uses: 50 }, { maxGrantUses: 5 }, T0);
  assert.equal(one.decisions[0]?.uses, 5);
  const two = applyDecision(one, { approve: true, approver: 'op-2', reason: '', uses: 2 }, { maxGrantUses: 5 }, T0);
  assert.equal(two.grant?.uses, 2);
});

test('reasons are trimmed; approver names are compared trimmed for self-approval', () => {
  const ticket = open();
  assert.equal(
    code(() => applyDecision(ticket, { approve: true, approver: ' owner-of-agent-1 ', reason: 'x' }, {}, T0)),
    'SELF_APPROVAL',
  );
  const denied = applyDecision(ticket, { approve: false, approver: 'op-1', reason: '  too risky  ' }, {}, T0);
  assert.equal(denied.decisions[0]?.reason, 'too risky');
});

test('malformed decisions are refused', () => {
  const ticket = open();
  assert.equal(
    code(() => applyDecision(ticket, { approve: true, approver: '', reason: 'x' }, {}, T0)),
    'TypeError',
  );
  assert.equal(
    code(() => applyDecision(ticket, { approve: true, approver: 'op-1', reason: 'x', ttlSeconds: 0 }, {}, T0)),
    'TypeError',
  );
  assert.equal(
    code(() => applyDecision(ticket, { approve: true, approver: 'op-1', reason: 'x', ttlSeconds: 1.5 }, {}, T0)),
    'TypeError',
  );
  assert.equal(
    code(() =>
      applyDecision(ticket, { approve: true, approver: 'op-1', reason: 'x', scope: 'everything' as never }, {}, T0),
    ),
    'TypeError',
  );
  assert.equal(
    code(() => applyDecision(ticket, { approve: true, approver: 'op-1', reason: 'x'.repeat(2001) }, {}, T0)),
    'TypeError',
  );
});

test('the grant TTL defaults to the maximum', () => {
  const approved = applyDecision(open(), { approve: true, approver: 'op-1', reason: '' }, { maxGrantSeconds: 120 }, T0);
  assert.equal(Date.parse(approved.grant!.expiresAt), T0 + 120_000);
});
