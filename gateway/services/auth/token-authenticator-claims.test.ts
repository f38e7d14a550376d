/**
 * Task token claims that jose does not check for us: a subject and an id that are not strings, and the
 * required times, whose absence jose reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { AuthError } from '../../kernel/principal.js';
import { createMemoryRevocationStore } from '../../stores/memory-revocation-store.js';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import { TASK_TOKEN_TYP } from '../../verify/claims.js';
import { createKeySet, generateSigningKey } from '../credentials/keys.js';
import { createTaskTokenAuthenticator } from './token-authenticator.js';

const ISSUER = 'https://gateway.test';
const T0 = 1_800_000_000_000;
const request = { headers: {}, url: '/mcp' };

async function setup() {
  const key = await generateSigningKey();
  const tasks = createMemoryTaskStore({ now: () => T0 });
  await tasks.create({ id: 't1', agentId: 'a1', intent: 'x', createdAt: T0, expiresAt: T0 + 3_600_000 });
  const auth = createTaskTokenAuthenticator({
    issuer: ISSUER,
    keys: createKeySet({ active: key, now: () => T0 }),
    revocation: createMemoryRevocationStore({ tasks, now: () => T0 }),
    tasks,
    now: () => T0,
  });
  /** A task token; claims set to undefined are left out. */
  const sign = (claims: Record<string, unknown>) => {
    const all = {
      iss: ISSUER,
      aud: ISSUER,
      sub: 'a1',
      tid: 't1',
      jti: 'j1',
      iat: T0 / 1000,
      exp: T0 / 1000 + 60,
      ...claims,
    };
    return new SignJWT(Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)))
      .setProtectedHeader({ alg: key.alg, typ: TASK_TOKEN_TYP, kid: key.kid })
      .sign(key.privateKey);
  };
  return { auth, sign };
}

async function refusedWith(promise: Promise<unknown>, message: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, String(error));
    assert.equal(error.code, 'UNAUTHENTICATED');
    assert.equal(error.message, message);
    return true;
  });
}

describe('task token claims', () => {
  it('is the task-token method', async () => {
    assert.equal((await setup()).auth.method, 'task-token');
  });

  it('refuses a subject or an id that is not a string', async () => {
    const { auth, sign } = await setup();
    for (const claims of [{ sub: 5 }, { jti: 5 }, { sub: ['a1'] }])
      await refusedWith(
        auth.authenticate(await sign(claims), request),
        'task token is missing its subject, id or task',
      );
  });

  it('refuses a token without an issue time or an expiry, or with one that is not a number', async () => {
    const { auth, sign } = await setup();
    for (const claims of [{ iat: undefined }, { exp: undefined }, { iat: String(T0 / 1000) }, { exp: null }])
      await refusedWith(auth.authenticate(await sign(claims), request), 'task token is invalid');
    assert.equal((await auth.authenticate(await sign({}), request))?.agentId, 'a1');
  });
});
