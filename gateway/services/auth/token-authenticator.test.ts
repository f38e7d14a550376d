import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT, type JWTHeaderParameters } from 'jose';
import { TASK_TOKEN_TYP } from '../../verify/claims.js';
import { createCredentialIssuer } from '../credentials/issuer.js';
import { createKeySet, generateSigningKey, type KeySet } from '../credentials/keys.js';
import { createMemoryRevocationStore } from '../../stores/memory-revocation-store.js';
import type { RevocationStore } from '../revocation/types.js';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import { createTaskTokenAuthenticator, peekJwt } from './token-authenticator.js';
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

const SECOND = 1000;
/** A whole second, so that token times and the authenticator's clock agree exactly. */
const T0 = 1_800_000_000 * SECOND;

/**
 * An authenticator over real stores, a clock the test moves, and a key set that counts full verifications
 * (each one reads `algorithms`; a remembered verification does not).
 */
async function bench(options: { cacheSize?: number; maxTtlSeconds?: number; clockToleranceSeconds?: number } = {}) {
  const clock = { t: T0 };
  const previous = await generateSigningKey('EdDSA');
  const inner = createKeySet({
    active: await generateSigningKey(),
    previous: [{ key: previous, retiresAt: T0 + 3_600_000 }],
    now: () => clock.t,
  });
  const verifications = { count: 0 };
  const keys: KeySet = {
    get algorithms() {
      verifications.count += 1;
      return inner.algorithms;
    },
    signingKey: () => inner.signingKey(),
    verificationKey: (kid) => inner.verificationKey(kid),
    jwks: () => inner.jwks(),
    rotate: (next, rotateOptions) => inner.rotate(next, rotateOptions),
  };
  const tasks = createMemoryTaskStore({ now: () => clock.t });
  const revocation = createMemoryRevocationStore({ tasks, now: () => clock.t });
  await tasks.create({
    id: 't1',
    agentId: 'a1',
    tenant: 'acme',
    intent: 'x',
    createdAt: T0,
    expiresAt: T0 + 7_200_000,
  });
  const auth = createTaskTokenAuthenticator({
    issuer: ISSUER,
    keys,
    revocation,
    tasks,
    now: () => clock.t,
    ...options,
  });
  const active = inner.signingKey();

  /** A task token signed with a key of the set; claims and header entries set to undefined are left out. */
  async function sign(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key = active) {
    const iat = clock.t / SECOND;
    const payload = Object.fromEntries(
      Object.entries({
        iss: ISSUER,
        aud: ISSUER,
        sub: 'a1',
        tid: 't1',
        ten: 'acme',
        jti: 'j1',
        iat,
        exp: iat + 120,
        ...claims,
      }).filter(([, value]) => value !== undefined),
    );
    const protectedHeader = Object.fromEntries(
      Object.entries({ alg: key.alg, typ: TASK_TOKEN_TYP, kid: key.kid, ...header }).filter(([, v]) => v !== undefined),
    );
    return new SignJWT(payload).setProtectedHeader(protectedHeader as JWTHeaderParameters).sign(key.privateKey);
  }

  /** A token whose header is replaced by hand (jose refuses to sign some headers); the signature no longer fits. */
  async function forged(header: Record<string, unknown>) {
    const [, payload, signature] = (await sign()).split('.');
    return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}.${signature}`;
  }

  return { clock, auth, tasks, revocation, verifications, sign, forged, active, previous, inner };
}

async function refusedWith(promise: Promise<unknown>, message: string, code = 'UNAUTHENTICATED') {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, String(error));
    assert.equal(error.message, message);
    assert.equal(error.code, code);
    assert.equal(error.bearerError, 'invalid_token');
    return true;
  });
}

describe('peekJwt', () => {
  it('reads a JWT-shaped string without verifying it, and nothing else', async () => {
    const { sign } = await bench();
    const token = await sign();
    assert.equal(peekJwt(token)?.header.typ, TASK_TOKEN_TYP);
    assert.equal(peekJwt(token)?.payload.sub, 'a1');
    const [header, payload] = token.split('.');
    // An unsigned token is still ours to refuse, not someone else's to accept.
    assert.equal(peekJwt(`${header}.${payload}.`)?.payload.tid, 't1');
    for (const bearer of [` ${token}`, `${token} `, `${token}\n`, `${header}.${payload}`, `${token}.x`, 'pc_abc', ''])
      assert.equal(peekJwt(bearer), undefined, JSON.stringify(bearer));
    assert.equal(peekJwt('e30.bm90IGpzb24.x'), undefined, 'a payload that is not JSON');
  });

  it('decodes a bearer once for the authenticators that peek it in turn, and shares it frozen', async () => {
    const { sign } = await bench();
    const token = await sign();
    const onRequest = { headers: {}, url: '/mcp' };
    const first = peekJwt(token, onRequest);
    assert.equal(peekJwt(token, onRequest), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first?.header) && Object.isFrozen(first?.payload));
    // A new bearer is decoded, and one equal to it but built apart is the same bearer.
    const other = await sign({ sub: 'a2' });
    assert.equal(peekJwt(other, onRequest)?.payload.sub, 'a2');
    assert.equal(peekJwt(token.split('.').join('.'), onRequest)?.payload.sub, 'a1');
    assert.equal(peekJwt('pc_abc', onRequest), undefined);
    assert.equal(peekJwt(token, onRequest)?.payload.sub, 'a1');
    // What one request decoded is that request's: another request, or none, decodes the bearer again.
    const again = peekJwt(token, onRequest);
    assert.notEqual(peekJwt(token, { headers: {}, url: '/mcp' }), again);
    assert.notEqual(peekJwt(token), again);
    assert.deepEqual(peekJwt(token), again);
  });
});

describe('task token checks', () => {
  it('leaves tokens that are not ours to the next authenticator', async () => {
    const { auth, sign } = await bench();
    assert.equal(
      await auth.authenticate(await sign({ iss: 'https://other.test' }, { typ: 'JWT' }), request),
      undefined,
    );
    assert.equal(await auth.authenticate('pc_not_a_jwt', request), undefined);
  });

  it('refuses, never passes on, a token that is ours by its type or by its issuer', async () => {
    const { auth, sign } = await bench();
    await refusedWith(auth.authenticate(await sign({ iss: 'https://other.test' }), request), 'task token is invalid');
    await refusedWith(auth.authenticate(await sign({}, { typ: 'portcullis-call+jwt' }), request), 'not a task token');
    await refusedWith(auth.authenticate(await sign({}, { typ: undefined }), request), 'not a task token');
  });

  it('refuses algorithms the gateway does not sign with, before anything else', async () => {
    const { auth, forged, active } = await bench();
    const algorithm = 'task token uses an algorithm this gateway does not sign with';
    for (const alg of ['none', 'HS256', 'RS256', undefined])
      await refusedWith(
        auth.authenticate(await forged({ alg, typ: TASK_TOKEN_TYP, kid: active.kid }), request),
        algorithm,
      );
    await refusedWith(
      auth.authenticate(
        await forged({ alg: 'none', typ: TASK_TOKEN_TYP, kid: active.kid, jwk: { kty: 'EC' } }),
        request,
      ),
      algorithm,
    );
  });

  it('refuses embedded key material and critical headers', async () => {
    const { auth, forged, active } = await bench();
    for (const [name, value] of [
      ['jwk', { kty: 'EC' }],
      ['jku', 'https://evil.test/jwks'],
      ['x5u', 'https://evil.test/cert'],
      ['x5c', ['AAAA']],
      ['crit', ['exp']],
    ] as const)
      await refusedWith(
        auth.authenticate(
          await forged({
            alg: active.alg,
            typ: TASK_TOKEN_TYP,
            kid: active.kid,
            [name]: value,
            ...(name === 'crit' ? { exp: 1 } : {}),
          }),
          request,
        ),
        `task token header "${name}" is not accepted`,
      );
  });

  it('needs the key id of a key of this gateway, of the algorithm the header names', async () => {
    const { auth, sign, forged, active, previous } = await bench();
    const notOurs = 'task token is not signed by a key of this gateway';
    await refusedWith(auth.authenticate(await sign({}, { kid: undefined }), request), notOurs);
    await refusedWith(auth.authenticate(await sign({}, { kid: 'unknown' }), request), notOurs);
    await refusedWith(
      auth.authenticate(await forged({ alg: 'EdDSA', typ: TASK_TOKEN_TYP, kid: active.kid }), request),
      notOurs,
    );
    // The previous key still verifies what it signed during its overlap.
    assert.equal((await auth.authenticate(await sign({ jti: 'old' }, {}, previous), request))?.agentId, 'a1');
  });

  it('refuses a bad signature, another audience, an expired token, and names expiry', async () => {
    const { auth, sign, active, clock } = await bench();
    const stranger = await generateSigningKey();
    await refusedWith(
      auth.authenticate(await sign({}, { kid: active.kid }, stranger), request),
      'task token is invalid',
    );
    await refusedWith(auth.authenticate(await sign({ aud: 'https://other.test' }), request), 'task token is invalid');
    const t = clock.t / SECOND;
    await refusedWith(auth.authenticate(await sign({ iat: t - 600, exp: t - 31 }), request), 'task token has expired');
    // Within the 30 s tolerance: accepted; outside a tolerance of 0: refused.
    assert.ok(await auth.authenticate(await sign({ iat: t - 600, exp: t - 29 }), request));
    const strict = await bench({ clockToleranceSeconds: 0 });
    const s = strict.clock.t / SECOND;
    await refusedWith(
      strict.auth.authenticate(await strict.sign({ iat: s - 600, exp: s - 1 }), request),
      'task token has expired',
    );
  });

  it('needs a subject, an id and a task, each a non-empty string', async () => {
    const { auth, sign } = await bench();
    for (const claim of ['sub', 'jti', 'tid'])
      await refusedWith(auth.authenticate(await sign({ [claim]: undefined }), request), 'task token is invalid');
    for (const claim of ['sub', 'jti', 'tid'])
      await refusedWith(
        auth.authenticate(await sign({ [claim]: '' }), request),
        'task token is missing its subject, id or task',
      );
    await refusedWith(
      auth.authenticate(await sign({ tid: 7 }), request),
      'task token is missing its subject, id or task',
    );
    await refusedWith(auth.authenticate(await sign({ ten: 7 }), request), 'task token is invalid');
  });

  it('needs exactly one audience', async () => {
    const { auth, sign } = await bench();
    await refusedWith(
      auth.authenticate(await sign({ aud: [ISSUER, 'https://other.test'] }), request),
      'task token must name exactly one audience',
    );
  });

  it('refuses a token issued in the future beyond the tolerance', async () => {
    const { auth, sign, clock } = await bench();
    const t = clock.t / SECOND;
    await refusedWith(
      auth.authenticate(await sign({ iat: t + 31, exp: t + 120 }), request),
      'task token is issued in the future',
    );
    assert.ok(await auth.authenticate(await sign({ iat: t + 30, exp: t + 120 }), request));
  });

  it('bounds the lifetime: after it is issued, and no longer than the longest TTL', async () => {
    const { auth, sign, clock } = await bench();
    const t = clock.t / SECOND;
    const bounds = 'task token lifetime is out of bounds';
    await refusedWith(auth.authenticate(await sign({ iat: t, exp: t }), request), bounds);
    await refusedWith(auth.authenticate(await sign({ iat: t + 10, exp: t + 5 }), request), bounds);
    await refusedWith(auth.authenticate(await sign({ iat: t, exp: t + 86_401 }), request), bounds);
    assert.ok(await auth.authenticate(await sign({ iat: t, exp: t + 86_400, jti: 'day' }), request));
    const short = await bench({ maxTtlSeconds: 100 });
    const s = short.clock.t / SECOND;
    await refusedWith(short.auth.authenticate(await short.sign({ iat: s, exp: s + 101 }), request), bounds);
    assert.ok(await short.auth.authenticate(await short.sign({ iat: s, exp: s + 100 }), request));
  });
});

describe('task token state, checked on every request', () => {
  it('refuses a disabled agent as forbidden, a revoked token and an ended task', async () => {
    const { auth, sign, revocation, tasks, clock } = await bench();
    const token = await sign();
    assert.ok(await auth.authenticate(token, request));
    await revocation.disableAgent('a1');
    await refusedWith(auth.authenticate(token, request), 'agent is disabled', 'FORBIDDEN');
    await revocation.enableAgent('a1');
    await revocation.revokeJti('j1', clock.t + 600_000);
    await refusedWith(auth.authenticate(token, request), 'task token has been revoked');
    assert.ok(await auth.authenticate(await sign({ jti: 'j2' }), request));
    await tasks.end('t1', 'done');
    await refusedWith(auth.authenticate(await sign({ jti: 'j2' }), request), 'task has ended');
  });

  it('reads the task once a request, and refuses it once it has expired', async () => {
    const { sign, revocation, tasks, inner, clock } = await bench();
    const reads: string[] = [];
    const reading = {
      get: (id: string) => {
        reads.push(id);
        return tasks.get(id);
      },
    };
    const ended: string[] = [];
    const auth = createTaskTokenAuthenticator({
      issuer: ISSUER,
      keys: inner,
      revocation: {
        ...revocation,
        isTaskEnded: (id) => {
          ended.push(id);
          return revocation.isTaskEnded(id);
        },
      },
      tasks: reading,
      now: () => clock.t,
    });
    const token = await sign({ exp: (T0 + 7_300_000) / SECOND });
    for (let i = 0; i < 2; i += 1) assert.ok(await auth.authenticate(token, request));
    assert.equal(reads.length + ended.length, 2, 'one read of the task a request');
    assert.deepEqual(ended, [], 'whether it has ended comes from the read of the task');
    clock.t = T0 + 7_200_000; // the task's expiry, before the token's
    await refusedWith(auth.authenticate(token, request), 'task has ended');
  });

  it('refuses a task the task store does not know even when revocation says nothing', async () => {
    const { sign, revocation, inner, clock } = await bench();
    const auth = createTaskTokenAuthenticator({
      issuer: ISSUER,
      keys: inner,
      revocation,
      tasks: createMemoryTaskStore({ now: () => clock.t }),
      now: () => clock.t,
    });
    await refusedWith(auth.authenticate(await sign(), request), 'task has ended');
  });

  it('accepts a token without a tenant for a task that has one, and takes the tenant from the agent', async () => {
    const { sign, revocation, tasks, inner, clock } = await bench();
    const auth = createTaskTokenAuthenticator({
      issuer: ISSUER,
      keys: inner,
      revocation,
      tasks,
      now: () => clock.t,
      resolveAgent: () => ({ roles: ['r'], tenant: 'from-profile' }),
    });
    assert.deepEqual(await auth.authenticate(await sign({ ten: undefined }), request), {
      agentId: 'a1',
      roles: ['r'],
      authMethod: 'task-token',
      issuer: ISSUER,
      subject: 'a1',
      taskId: 't1',
      expiresAt: clock.t + 120_000,
      tenant: 'from-profile',
    });
    const plain = await bench();
    assert.deepEqual(await plain.auth.authenticate(await plain.sign({ ten: undefined }), request), {
      agentId: 'a1',
      roles: [],
      authMethod: 'task-token',
      issuer: ISSUER,
      subject: 'a1',
      taskId: 't1',
      expiresAt: plain.clock.t + 120_000,
    });
  });
});

describe('remembered verifications', () => {
  it('verifies a token once and remembers it, while checking its state every time', async () => {
    const { auth, sign, verifications, revocation } = await bench();
    const token = await sign();
    await auth.authenticate(token, request);
    await auth.authenticate(token, request);
    assert.equal(verifications.count, 1);
    await revocation.revokeJti('j1', T0 + 600_000);
    await refusedWith(auth.authenticate(token, request), 'task token has been revoked');
    assert.equal(verifications.count, 1);
  });

  it('verifies again from the moment the token expires', async () => {
    const { auth, sign, verifications, clock } = await bench();
    const token = await sign();
    await auth.authenticate(token, request);
    clock.t += 119_999;
    await auth.authenticate(token, request);
    assert.equal(verifications.count, 1);
    clock.t += 1;
    // Expired now, still inside the tolerance: verified again (and accepted by the signature check).
    await auth.authenticate(token, request);
    assert.equal(verifications.count, 2);
  });

  it('forgets a token whose task ended or is not its subject’s', async () => {
    const { auth, sign, verifications, tasks } = await bench();
    const token = await sign();
    await auth.authenticate(token, request);
    await tasks.end('t1', 'done');
    await refusedWith(auth.authenticate(token, request), 'task has ended');
    await refusedWith(auth.authenticate(token, request), 'task has ended');
    assert.equal(verifications.count, 2);
    const other = await bench();
    const foreign = await other.sign({ sub: 'a2' });
    const message = 'task token names a task that does not belong to its subject';
    await refusedWith(other.auth.authenticate(foreign, request), message);
    await refusedWith(other.auth.authenticate(foreign, request), message);
    assert.equal(other.verifications.count, 2);
  });

  it('remembers nothing with a cache size of zero or less, and still answers', async () => {
    for (const cacheSize of [0, -1]) {
      const { auth, sign, verifications } = await bench({ cacheSize });
      const token = await sign();
      assert.ok(await auth.authenticate(token, request));
      assert.ok(await auth.authenticate(token, request));
      assert.equal(verifications.count, 2);
    }
  });

  it('keeps the most recently used tokens, up to the cache size', async () => {
    const { auth, sign, verifications } = await bench({ cacheSize: 2 });
    const [a, b, c] = [await sign({ jti: 'a' }), await sign({ jti: 'b' }), await sign({ jti: 'c' })];
    for (const token of [a, b, a]) await auth.authenticate(token, request);
    assert.equal(verifications.count, 2, 'a is remembered while two fit');
    await auth.authenticate(c, request); // evicts b, the least recently used
    await auth.authenticate(a, request);
    assert.equal(verifications.count, 3);
    await auth.authenticate(b, request);
    assert.equal(verifications.count, 4);
  });
});
