import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditRecord } from '../audit/index.js';
import { reduceDenyState, REVOCATION_TTL_MS, sortRecords } from './deny-state.js';

let seq = 0;
function record(ts: string, fields: Partial<AuditRecord> & Pick<AuditRecord, 'event'>): AuditRecord {
  seq += 1;
  return { seq, ts, prev: '0'.repeat(64), hash: '0'.repeat(64), ...fields };
}

describe('deny state from audit records', () => {
  it('keeps the last kill-switch action per agent, across logs merged by time', () => {
    const a = [
      record('2026-01-01T00:00:01.000Z', { event: 'agent.disable', agentId: 'bot', detail: { action: 'disable' } }),
      record('2026-01-01T00:00:05.000Z', { event: 'agent.disable', agentId: 'bot', detail: { action: 'enable' } }),
    ];
    const b = [
      record('2026-01-01T00:00:03.000Z', { event: 'agent.disable', agentId: 'crm', detail: { action: 'disable' } }),
      record('2026-01-01T00:00:07.000Z', { event: 'agent.disable', agentId: 'bot', detail: { action: 'disable' } }),
    ];
    const state = reduceDenyState(sortRecords([...a, ...b]));
    assert.deepEqual([...state.disabledAgents.keys()].sort(), ['bot', 'crm']);
    const enabledLast = reduceDenyState(sortRecords([...a]));
    assert.equal(enabledLast.disabledAgents.size, 0);
  });

  it('revocations last a week from when they were made', () => {
    const state = reduceDenyState([
      record('2026-01-01T00:00:00.000Z', { event: 'credential.revoke', jti: 'j-123456789' }),
    ]);
    assert.equal(state.revokedJtis.get('j-123456789'), Date.parse('2026-01-01T00:00:00.000Z') + REVOCATION_TTL_MS);
  });

  it('tasks: opened, ended (with the reason), and an unreadable expiry reads as expired', () => {
    const state = reduceDenyState([
      record('2026-01-01T00:00:00.000Z', {
        event: 'task.open',
        agentId: 'bot',
        taskId: 't1',
        detail: { intent: 'report', declaredTools: ['api_*'], expiresAt: '2026-01-01T01:00:00.000Z' },
      }),
      record('2026-01-01T00:10:00.000Z', { event: 'task.end', agentId: 'bot', taskId: 't1', reason: 'done' }),
      record('2026-01-01T00:20:00.000Z', { event: 'task.open', agentId: 'bot', taskId: 't2', detail: {} }),
    ]);
    const t1 = state.tasks.get('t1');
    assert.equal(t1?.endReason, 'done');
    assert.deepEqual(t1?.declaredTools, ['api_*']);
    assert.equal(t1?.expiresAt, Date.parse('2026-01-01T01:00:00.000Z'));
    const t2 = state.tasks.get('t2');
    assert.equal(t2?.expiresAt, t2?.createdAt);
  });

  it('approval requests stay pending until a final decision or an expiry', () => {
    const state = reduceDenyState([
      record('2026-01-01T00:00:00.000Z', { event: 'approval.request', approvalId: 'a1', agentId: 'bot', tool: 't' }),
      record('2026-01-01T00:00:00.000Z', { event: 'approval.request', approvalId: 'a2', agentId: 'bot', tool: 't' }),
      record('2026-01-01T00:00:00.000Z', { event: 'approval.request', approvalId: 'a3', agentId: 'bot', tool: 't' }),
      record('2026-01-01T00:00:01.000Z', {
        event: 'approval.decision',
        approvalId: 'a1',
        detail: { status: 'pending' },
      }),
      record('2026-01-01T00:00:01.000Z', {
        event: 'approval.decision',
        approvalId: 'a2',
        detail: { status: 'denied' },
      }),
      record('2026-01-01T00:00:01.000Z', { event: 'approval.expired', approvalId: 'a3' }),
    ]);
    assert.deepEqual([...state.pendingApprovals.keys()], ['a1']);
  });

  it('keeps the last trusted hash of each tool, by its name at the connector', () => {
    const state = reduceDenyState([
      record('2026-01-01T00:00:00.000Z', {
        event: 'tool.pin',
        tool: 'crm_find',
        target: 'crm',
        detail: { hash: 'h1' },
      }),
      record('2026-01-01T00:01:00.000Z', {
        event: 'tool.pin',
        tool: 'crm_find',
        target: 'crm',
        detail: { hash: 'h2' },
      }),
    ]);
    assert.deepEqual(
      [...state.pins.values()].map((p) => [p.connector, p.tool, p.hash]),
      [['crm', 'find', 'h2']],
    );
  });
});
