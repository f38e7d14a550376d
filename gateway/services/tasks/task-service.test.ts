import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { decodeJwt } from 'jose';
import type { AuditRecordInput, AuditSink } from '../audit/types.js';
import type { Principal } from '../../kernel/principal.js';
import { createCredentialIssuer } from '../credentials/issuer.js';
import { createKeySet, generateSigningKey } from '../credentials/keys.js';
import { createMemoryRevocationStore } from '../../stores/memory-revocation-store.js';
import { TaskEndedError, TaskNotFoundError } from './errors.js';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import { createTaskService, TaskServiceError, type TaskServiceOptions } from './task-service.js';

const alice: Principal = { agentId: 'alice', roles: [], tenant: 'acme', authMethod: 'api-key' };
const bob: Principal = { agentId: 'bob', roles: [], authMethod: 'api-key' };

async function setup(
  options: {
    failAudit?: boolean;
    onEnded?: (taskId: string) => Promise<void>;
    openTrace?: TaskServiceOptions['openTrace'];
  } = {},
) {
  const clock = { t: Date.now() };
  const keys = createKeySet({ active: await generateSigningKey() });
  const issuer = createCredentialIssuer({ issuer: 'https://gw.test', keys, now: () => clock.t });
  const store = createMemoryTaskStore({ now: () => clock.t });
  const revocation = createMemoryRevocationStore({ tasks: store, now: () => clock.t });
  const records: AuditRecordInput[] = [];
  const audit: AuditSink = {
    append: async (r) => {
      if (options.failAudit === true) throw new Error('disk full');
      records.push(r);
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
  const service = createTaskService({
    store,
    revocation,
    issuer,
    audit,
    maxTtlSeconds: 600,
    maxLifetimeSeconds: 1800,
    now: () => clock.t,
    ...(options.onEnded !== undefined ? { onEnded: options.onEnded } : {}),
    ...(options.openTrace !== undefined ? { openTrace: options.openTrace } : {}),
  });
  return { service, store, revocation, issuer, records, clock };
}

describe('task service', () => {
  it('opens a task for the principal with its tenant and a task token that expires with it', async () => {
    const { service, records } = await setup();
    const { task, token, expiresAt } = await service.open(alice, { intent: 'fix bug', declaredTools: ['github_*'] });
    assert.equal(task.agentId, 'alice');
    assert.equal(task.tenant, 'acme');
    assert.equal(task.expiresAt - task.createdAt, 300_000);
    const claims = decodeJwt(token.reveal());
    assert.equal(claims['tid'], task.id);
    assert.equal(claims['ten'], 'acme');
    assert.ok(Math.abs(expiresAt - task.expiresAt) < 1000);
    assert.deepEqual(
      records.map((r) => r.event),
      ['task.open'],
    );
    assert.ok(!JSON.stringify(records).includes(token.reveal()));
  });

  it("keeps the span it opens for the task, in the opening request's trace", async () => {
    const opened: unknown[] = [];
    const traceContext = ROOT_CONTEXT.setValue(Symbol('the opener trace'), true);
    const { service, store } = await setup({
      openTrace: (task, parent) => {
        opened.push([task.intent, task.agentId, parent]);
        return `00-${'2'.repeat(32)}-${'3'.repeat(16)}-01`;
      },
    });
    const { task } = await service.open(alice, { intent: 'fix bug', traceContext });
    assert.deepEqual(opened, [['fix bug', 'alice', traceContext]]);
    assert.equal((await store.get(task.id))?.trace, `00-${'2'.repeat(32)}-${'3'.repeat(16)}-01`);
  });

  it('caps the TTL, refuses other tenants, task tokens and disabled agents', async () => {
    const { service, revocation } = await setup();
    const { task } = await service.open(alice, { intent: 'x', ttlSeconds: 99_999 });
    assert.equal(task.expiresAt - task.createdAt, 600_000);
    await assert.rejects(service.open(alice, { intent: 'x', tenant: 'other' }), TaskServiceError);
    await assert.rejects(service.open(bob, { intent: 'x', tenant: 'acme' }), TaskServiceError);
    await assert.rejects(
      service.open({ ...alice, authMethod: 'task-token', taskId: task.id }, { intent: 'x' }),
      /cannot open another task/,
    );
    await revocation.disableAgent('bob');
    await assert.rejects(service.open(bob, { intent: 'x' }), /disabled/);
  });

  it('lets an agent read and end only its own tasks; operators can end any', async () => {
    const { service, records } = await setup();
    const { task } = await service.open(alice, { intent: 'x' });
    await assert.rejects(service.get(task.id, bob), TaskNotFoundError);
    await assert.rejects(service.end(task.id, bob), TaskNotFoundError);
    assert.equal((await service.get(task.id, alice)).endedAt, undefined);
    const ended = await service.end(task.id, alice, 'finished');
    assert.equal(ended.endReason, 'finished');
    const other = await service.open(bob, { intent: 'y' });
    assert.equal((await service.end(other.task.id, { operator: 'ops' })).endReason, 'ended by operator:ops');
    assert.deepEqual(
      records.filter((r) => r.event === 'task.end').map((r) => r.actor),
      ['agent:alice', 'operator:ops'],
    );
  });

  it('ending a task drops its cached call credentials', async () => {
    const { service, issuer } = await setup();
    const { task } = await service.open(alice, { intent: 'x' });
    const request = { taskId: task.id, agentId: 'alice', audience: 'api', scope: 'tool:x' };
    const first = await issuer.mintCallCredential(request);
    await service.end(task.id, alice);
    assert.notEqual((await issuer.mintCallCredential(request)).jti, first.jti);
  });

  it('renews within the lifetime cap with a fresh token, not after the end', async () => {
    const { service, clock } = await setup();
    const { task } = await service.open(alice, { intent: 'x', ttlSeconds: 60 });
    clock.t += 30_000;
    const renewed = await service.renew(task.id, alice, 600);
    assert.equal(renewed.task.expiresAt, clock.t + 600_000);
    let expiresAt = renewed.task.expiresAt;
    for (let i = 0; i < 3; i += 1) {
      clock.t += 500_000;
      expiresAt = (await service.renew(task.id, alice, 600)).task.expiresAt;
    }
    assert.equal(expiresAt, task.createdAt + 1_800_000);
    await service.end(task.id, alice);
    await assert.rejects(service.renew(task.id, alice), TaskEndedError);
  });

  it('leaves no live task behind when the open cannot be audited', async () => {
    const { service, store } = await setup({ failAudit: true });
    await assert.rejects(service.open(alice, { intent: 'x' }), /disk full/);
    assert.deepEqual(await store.list({ agentId: 'alice' }), []);
  });
});

describe('task end clean-up', () => {
  it('ends what hangs off the task (its grants) once the task has ended', async () => {
    const ended: string[] = [];
    const { service, store } = await setup({
      onEnded: async (taskId) => {
        assert.notEqual((await store.get(taskId))?.endedAt, undefined, 'the task is ended first');
        ended.push(taskId);
      },
    });
    const { task } = await service.open(alice, { intent: 'x' });
    await service.end(task.id, alice);
    assert.deepEqual(ended, [task.id]);
  });

  it('a failed clean-up does not undo the end and is recorded on the audit record', async () => {
    const { service, store, records } = await setup({ onEnded: async () => Promise.reject(new Error('redis down')) });
    const { task } = await service.open(alice, { intent: 'x' });
    const ended = await service.end(task.id, alice);
    assert.notEqual(ended.endedAt, undefined);
    assert.notEqual((await store.get(task.id))?.endedAt, undefined);
    const record = records.find((r) => r.event === 'task.end');
    assert.deepEqual(record?.detail, { cleanup: 'failed' });
  });
});
