import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCredentialIssuer } from '../credentials/issuer.js';
import { createKeySet, generateSigningKey } from '../credentials/keys.js';
import { createMemoryRevocationStore } from '../../stores/memory-revocation-store.js';
import type { RevocationStore } from '../revocation/types.js';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import { createTaskTokenAuthenticator } from './token-authenticator.js';
import { AuthError } from '../../kernel/principal.js';

const ISSUER = 'https://gateway.test';
const request = { headers: {}, url: '/mcp' };

async function setup(clock = { t: Date.now() }) {
  const keys = createKeySet({ active: await generateSigningKey(), now: () => clock.t });
  const issuer = createCredentialIssuer({ issuer: ISSUER, keys, now: () => clock.t });
  const tasks = createMemoryTaskStore({ now: () => clock.t });
  const revocation = createMemoryRevocationStore({ tasks, now: () => clock.t });
  await tasks.create({
    id: 't1',
    agentId: 'a1',
    tenant: 'acme',
    intent: 'x',
    createdAt: clock.t,
    expiresAt: clock.t + 3_600_000,
  });
  const token = (
    await issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', tenant: 'acme', ttlSeconds: 120 })
  ).token.reveal();
  return { keys, issuer, tasks, revocation, token, clock };
}

describe('task token authenticator', () => {
  it('maps a valid token to a principal with task, tenant, roles and expiry', async () => {
    const { keys, revocation, tasks, token, clock } = await setup();
    const auth = createTaskTokenAuthenticator({
      issuer: ISSUER,
      keys,
      revocation,
      tasks,
      now: () => clock.t,
      resolveAgent: (id) => (id === 'a1' ? { roles: ['reader'], environment: 'prod' } : undefined),
    });
    const principal = await auth.authenticate(token, request);
    assert.deepEqual(principal, {
      agentId: 'a1',
      roles: ['reader'],
      authMethod: 'task-token',
      issuer: ISSUER,
      subject: 'a1',
      taskId: 't1',
      expiresAt: Math.floor(clock.t / 1000) * 1000 + 120_000,
      tenant: 'acme',
      environment: 'prod',
    });
  });

  it('refuses agents the configuration no longer knows', async () => {
    const { keys, revocation, tasks, token } = await setup();
    const auth = createTaskTokenAuthenticator({
      issuer: ISSUER,
      keys,
      revocation,
      tasks,
      resolveAgent: () => undefined,
    });
    await assert.rejects(auth.authenticate(token, request), /unknown agent/);
  });

  it('a cached verification does not outlive exp', async () => {
    const { keys, revocation, tasks, token, clock } = await setup();
    const auth = createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation, tasks, now: () => clock.t });
    assert.ok(await auth.authenticate(token, request));
    clock.t += 151_000; // past exp + 30 s tolerance
    await assert.rejects(auth.authenticate(token, request), /expired/);
  });

  it('a cached verification dies with its key', async () => {
    const { keys, revocation, tasks, token, clock } = await setup();
    const auth = createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation, tasks, now: () => clock.t });
    assert.ok(await auth.authenticate(token, request));
    await keys.rotate(undefined, { overlapSeconds: 0 });
    await assert.rejects(auth.authenticate(token, request), AuthError);
  });

  it('fails closed when the revocation store throws', async () => {
    const { keys, token, revocation, tasks } = await setup();
    const broken: RevocationStore = { ...revocation, isJtiRevoked: async () => Promise.reject(new Error('down')) };
    const auth = createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation: broken, tasks });
    await assert.rejects(
      auth.authenticate(token, request),
      (e: unknown) => e instanceof AuthError && e.code === 'UNAUTHENTICATED',
    );
  });

  it('passes a store outage on as STORE_UNAVAILABLE, not as a bad token', async () => {
    const { keys, token, revocation, tasks } = await setup();
    const outage = Object.assign(new Error('state store unavailable'), { code: 'STORE_UNAVAILABLE' });
    const broken: RevocationStore = { ...revocation, isAgentDisabled: async () => Promise.reject(outage) };
    const auth = createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation: broken, tasks });
    await assert.rejects(auth.authenticate(token, request), (e: unknown) => e === outage);
  });

  it('treats an expired task as ended even while its token is valid', async () => {
    const { keys, revocation, tasks, clock, issuer } = await setup();
    await tasks.create({ id: 't2', agentId: 'a1', intent: 'short', createdAt: clock.t, expiresAt: clock.t + 10_000 });
    const token = (await issuer.mintTaskToken({ taskId: 't2', agentId: 'a1', ttlSeconds: 120 })).token.reveal();
    const auth = createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation, tasks, now: () => clock.t });
    assert.ok(await auth.authenticate(token, request));
    clock.t += 11_000;
    await assert.rejects(auth.authenticate(token, request), /ended/);
  });
});

describe('task token ownership', () => {
  it("refuses a well-signed token that names another agent's task, or another tenant", async () => {
    const { keys, revocation, tasks, issuer } = await setup();
    const auth = createTaskTokenAuthenticator({ issuer: ISSUER, keys, revocation, tasks });
    const foreignTask = (await issuer.mintTaskToken({ taskId: 't1', agentId: 'a2', ttlSeconds: 120 })).token.reveal();
    await assert.rejects(auth.authenticate(foreignTask, request), /does not belong to its subject/);
    const otherTenant = (
      await issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', tenant: 'globex', ttlSeconds: 120 })
    ).token.reveal();
    await assert.rejects(auth.authenticate(otherTenant, request), /does not belong to its subject/);
    const unknownTask = (await issuer.mintTaskToken({ taskId: 'nope', agentId: 'a1', ttlSeconds: 120 })).token.reveal();
    await assert.rejects(auth.authenticate(unknownTask, request), /ended/);
  });

  it('fails closed, as unauthenticated, when the task store cannot answer', async () => {
    const { keys, revocation, token } = await setup();
    const auth = createTaskTokenAuthenticator({
      issuer: ISSUER,
      keys,
      revocation,
      tasks: { get: async () => Promise.reject(new Error('down')) },
    });
    await assert.rejects(
      auth.authenticate(token, request),
      (e: unknown) => e instanceof AuthError && e.code === 'UNAUTHENTICATED' && /cannot be checked/.test(e.message),
    );
  });
});
