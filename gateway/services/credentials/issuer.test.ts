import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { CALL_CREDENTIAL_TYP, TASK_TOKEN_TYP } from '../../verify/claims.js';
import { createCredentialIssuer, CredentialError } from './issuer.js';
import { createKeySet, generateSigningKey } from './keys.js';

const ISSUER = 'https://gateway.test';

async function setup(
  now = { t: 1_700_000_000_000 },
  options: { callTtlSeconds?: number; elevatedTtlSeconds?: number } = {},
) {
  const keys = createKeySet({ active: await generateSigningKey() });
  const issuer = createCredentialIssuer({ issuer: ISSUER, keys, now: () => now.t, ...options });
  return { keys, issuer, now };
}

describe('credential issuer', () => {
  it('mints task tokens with typ, aud = issuer, sub = agent and tid, verifiable with the key set', async () => {
    const { issuer, keys } = await setup({ t: Date.now() });
    const minted = await issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', tenant: 'acme', ttlSeconds: 120 });
    const header = decodeProtectedHeader(minted.token.reveal());
    assert.equal(header.typ, TASK_TOKEN_TYP);
    assert.equal(header.kid, keys.signingKey().kid);
    const { payload } = await jwtVerify(minted.token.reveal(), keys.signingKey().publicKey, {
      audience: ISSUER,
      issuer: ISSUER,
    });
    assert.equal(payload.sub, 'a1');
    assert.equal(payload['tid'], 't1');
    assert.equal(payload['ten'], 'acme');
    assert.equal(payload.jti, minted.jti);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120);
  });

  it('never prints the token', async () => {
    const { issuer } = await setup();
    const minted = await issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', ttlSeconds: 60 });
    const raw = minted.token.reveal();
    for (const text of [
      String(minted.token),
      JSON.stringify(minted),
      inspect(minted, { depth: 5 }),
      `${minted.token}`,
    ]) {
      assert.ok(!text.includes(raw));
      assert.match(text, /\[redacted\]/);
    }
  });

  it('mints call credentials with one audience, one scope, act for on-behalf-of, and elevated TTL', async () => {
    const { issuer } = await setup();
    const plain = await issuer.mintCallCredential({
      taskId: 't1',
      agentId: 'a1',
      audience: 'https://api.test',
      scope: 'GET /repos/a/b',
    });
    const header = decodeProtectedHeader(plain.token.reveal());
    const claims = decodeJwt(plain.token.reveal());
    assert.equal(header.typ, CALL_CREDENTIAL_TYP);
    assert.equal(claims.aud, 'https://api.test');
    assert.equal(claims['scope'], 'GET /repos/a/b');
    assert.equal(claims.sub, 'a1');
    assert.equal(claims['act'], undefined);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 300);

    const obo = await issuer.mintCallCredential({
      taskId: 't1',
      agentId: 'a1',
      audience: 'https://api.test',
      scope: 'tool:echo',
      onBehalfOf: 'alice',
      elevated: true,
    });
    const oboClaims = decodeJwt(obo.token.reveal());
    assert.equal(oboClaims.sub, 'alice');
    assert.deepEqual(oboClaims['act'], { sub: 'a1' });
    assert.equal(oboClaims['elv'], true);
    assert.equal((oboClaims.exp ?? 0) - (oboClaims.iat ?? 0), 900);
  });

  it('caps TTLs at 300 s and 900 s', async () => {
    const { issuer } = await setup(undefined, { callTtlSeconds: 3600, elevatedTtlSeconds: 7200 });
    const a = decodeJwt(
      (await issuer.mintCallCredential({ taskId: 't', agentId: 'a', audience: 'b', scope: 'tool:x' })).token.reveal(),
    );
    const b = decodeJwt(
      (
        await issuer.mintCallCredential({ taskId: 't', agentId: 'a', audience: 'b', scope: 'tool:x', elevated: true })
      ).token.reveal(),
    );
    assert.equal((a.exp ?? 0) - (a.iat ?? 0), 300);
    assert.equal((b.exp ?? 0) - (b.iat ?? 0), 900);
  });

  it('reuses a credential per (task, audience, scope, elevated) until the reuse margin, then mints anew', async () => {
    const { issuer, now } = await setup();
    const request = { taskId: 't1', agentId: 'a1', audience: 'https://api.test', scope: 'GET /x' };
    const first = await issuer.mintCallCredential(request);
    const second = await issuer.mintCallCredential(request);
    assert.equal(first.reused, false);
    assert.equal(second.reused, true);
    assert.equal(second.jti, first.jti);
    assert.equal((await issuer.mintCallCredential({ ...request, scope: 'GET /y' })).reused, false);
    assert.equal((await issuer.mintCallCredential({ ...request, audience: 'https://other.test' })).reused, false);
    assert.equal((await issuer.mintCallCredential({ ...request, elevated: true })).reused, false);
    assert.equal((await issuer.mintCallCredential({ ...request, taskId: 't2' })).reused, false);

    now.t += 269_000;
    assert.equal((await issuer.mintCallCredential(request)).jti, first.jti);
    now.t += 2_000; // now inside the 30 s margin
    const fresh = await issuer.mintCallCredential(request);
    assert.equal(fresh.reused, false);
    assert.notEqual(fresh.jti, first.jti);
  });

  it('forgetTask and forgetCredential drop cached credentials', async () => {
    const { issuer } = await setup();
    const request = { taskId: 't1', agentId: 'a1', audience: 'aud', scope: 'tool:echo' };
    const first = await issuer.mintCallCredential(request);
    issuer.forgetTask('t1');
    const second = await issuer.mintCallCredential(request);
    assert.notEqual(second.jti, first.jti);
    issuer.forgetCredential(second.jti);
    assert.notEqual((await issuer.mintCallCredential(request)).jti, second.jti);
  });

  it('never outlives the task and refuses when the task has ended', async () => {
    const { issuer, now } = await setup();
    const notAfter = now.t + 60_000;
    const minted = await issuer.mintCallCredential({
      taskId: 't',
      agentId: 'a',
      audience: 'b',
      scope: 'tool:x',
      notAfter,
    });
    assert.ok(minted.expiresAt <= notAfter);
    await assert.rejects(
      issuer.mintCallCredential({ taskId: 't', agentId: 'a', audience: 'b', scope: 'tool:y', notAfter: now.t - 1 }),
      (error: Error) => error instanceof CredentialError && error.code === 'TASK_ENDED',
    );
  });

  it('rejects malformed scopes and the gateway itself as audience', async () => {
    const { issuer } = await setup();
    for (const scope of ['GET /a /b', 'get /a', 'tool:', 'anything']) {
      await assert.rejects(
        issuer.mintCallCredential({ taskId: 't', agentId: 'a', audience: 'b', scope }),
        CredentialError,
      );
    }
    await assert.rejects(
      issuer.mintCallCredential({ taskId: 't', agentId: 'a', audience: ISSUER, scope: 'tool:x' }),
      CredentialError,
    );
  });
});

const T = 1_800_000_000_000;

async function issuerAt(
  now: { t: number },
  options: { reuseMarginSeconds?: number; maxCachedCredentials?: number; callTtlSeconds?: number } = {},
) {
  const keys = createKeySet({ active: await generateSigningKey() });
  return { keys, issuer: createCredentialIssuer({ issuer: ISSUER, keys, now: () => now.t, ...options }) };
}

async function refusedRequest(promise: Promise<unknown>, message: string, code = 'INVALID_CREDENTIAL_REQUEST') {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CredentialError);
    assert.equal(error.name, 'CredentialError');
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

const base = { taskId: 't1', agentId: 'a1', audience: 'https://api.test', scope: 'GET /x' };

describe('credential issuer: what is minted', () => {
  it('signs exactly the claims of a call credential, at the issuer clock, with the active key', async () => {
    const now = { t: T + 400 };
    const { issuer, keys } = await issuerAt(now);
    assert.equal(issuer.issuer, ISSUER);
    assert.deepEqual(issuer.jwks(), keys.jwks());
    const minted = await issuer.mintCallCredential(base);
    assert.deepEqual(decodeProtectedHeader(minted.token.reveal()), {
      alg: 'ES256',
      typ: CALL_CREDENTIAL_TYP,
      kid: keys.signingKey().kid,
    });
    assert.deepEqual(decodeJwt(minted.token.reveal()), {
      iss: ISSUER,
      aud: 'https://api.test',
      sub: 'a1',
      tid: 't1',
      scope: 'GET /x',
      iat: T / 1000,
      exp: T / 1000 + 300,
      jti: minted.jti,
    });
    assert.equal(minted.expiresAt, T + 300_000);
    const task = await issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', ttlSeconds: 60 });
    assert.deepEqual(decodeJwt(task.token.reveal()), {
      iss: ISSUER,
      aud: ISSUER,
      sub: 'a1',
      tid: 't1',
      iat: T / 1000,
      exp: T / 1000 + 60,
      jti: task.jti,
    });
    assert.equal(task.expiresAt, T + 60_000);
  });

  it('uses the configured lifetime below the cap', async () => {
    const { issuer } = await issuerAt({ t: T }, { callTtlSeconds: 45 });
    const claims = decodeJwt((await issuer.mintCallCredential(base)).token.reveal());
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 45);
  });

  it('cuts a credential at the end of its task, and refuses once less than a second is left', async () => {
    const now = { t: T };
    const { issuer } = await issuerAt(now);
    const cut = await issuer.mintCallCredential({ ...base, notAfter: T + 60_999 });
    assert.equal(decodeJwt(cut.token.reveal()).exp, T / 1000 + 60);
    const far = await issuer.mintCallCredential({ ...base, scope: 'GET /far', notAfter: T + 3_600_000 });
    assert.equal(decodeJwt(far.token.reveal()).exp, T / 1000 + 300);
    await refusedRequest(
      issuer.mintCallCredential({ ...base, scope: 'GET /gone', notAfter: T + 999 }),
      'the task has ended',
      'TASK_ENDED',
    );
  });
});

describe('credential issuer: what is refused', () => {
  it('says which request field is missing, empty or too long', async () => {
    const { issuer } = await issuerAt({ t: T });
    for (const field of ['taskId', 'agentId', 'audience', 'scope'] as const) {
      for (const value of ['', undefined, 'x'.repeat(513)])
        await refusedRequest(
          issuer.mintCallCredential({ ...base, [field]: value } as typeof base),
          `${field} must be a non-empty string`,
        );
    }
    await refusedRequest(
      issuer.mintCallCredential({ ...base, onBehalfOf: '' }),
      'onBehalfOf must be a non-empty string',
    );
    await refusedRequest(
      issuer.mintTaskToken({ taskId: '', agentId: 'a1', ttlSeconds: 60 }),
      'taskId must be a non-empty string',
    );
    await refusedRequest(
      issuer.mintTaskToken({ taskId: 't1', agentId: '', ttlSeconds: 60 }),
      'agentId must be a non-empty string',
    );
    await refusedRequest(
      issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', tenant: '', ttlSeconds: 60 }),
      'tenant must be a non-empty string',
    );
    const longest = 'x'.repeat(512);
    const minted = await issuer.mintCallCredential({ ...base, agentId: longest, taskId: longest });
    assert.equal(decodeJwt(minted.token.reveal()).sub, longest);
  });

  it('says which lifetime is not a positive integer', async () => {
    const { issuer } = await issuerAt({ t: T });
    for (const ttlSeconds of [0, -1, 1.5])
      await refusedRequest(
        issuer.mintTaskToken({ taskId: 't1', agentId: 'a1', ttlSeconds }),
        'ttlSeconds must be a positive integer',
      );
    const keys = createKeySet({ active: await generateSigningKey() });
    for (const name of ['callTtlSeconds', 'elevatedTtlSeconds'])
      for (const value of [0, -5, 2.5])
        assert.throws(() => createCredentialIssuer({ issuer: ISSUER, keys, [name]: value }), {
          name: 'CredentialError',
          code: 'INVALID_CREDENTIAL_REQUEST',
          message: `${name} must be a positive integer`,
        });
    assert.throws(() => createCredentialIssuer({ issuer: '', keys }), { message: 'issuer must be a non-empty string' });
    assert.ok(createCredentialIssuer({ issuer: ISSUER, keys, callTtlSeconds: 1, elevatedTtlSeconds: 1 }));
  });

  it('names the scope shape and the gateway audience in its refusals', async () => {
    const { issuer } = await issuerAt({ t: T });
    await refusedRequest(
      issuer.mintCallCredential({ ...base, scope: 'get /x' }),
      'scope must be "METHOD /path" or "tool:NAME"',
    );
    await refusedRequest(
      issuer.mintCallCredential({ ...base, audience: ISSUER }),
      'a call credential cannot name the gateway as its audience',
    );
  });
});

describe('credential issuer: reuse', () => {
  it('reuses per agent and per user acted for, never across them', async () => {
    const { issuer } = await issuerAt({ t: T });
    const first = await issuer.mintCallCredential(base);
    assert.equal((await issuer.mintCallCredential({ ...base, agentId: 'a2' })).reused, false);
    const forAlice = await issuer.mintCallCredential({ ...base, onBehalfOf: 'alice' });
    assert.equal(forAlice.reused, false);
    assert.equal((await issuer.mintCallCredential({ ...base, onBehalfOf: 'bob' })).reused, false);
    assert.equal((await issuer.mintCallCredential({ ...base, onBehalfOf: 'alice' })).jti, forAlice.jti);
    const again = await issuer.mintCallCredential(base);
    assert.equal(again.reused, true);
    assert.equal(again.jti, first.jti);
    assert.equal(decodeJwt(again.token.reveal())['elv'], undefined);
    assert.equal(decodeJwt(again.token.reveal())['act'], undefined);
  });

  it('stops reusing exactly at the margin before expiry, and honours a configured margin', async () => {
    const now = { t: T };
    const { issuer } = await issuerAt(now);
    const first = await issuer.mintCallCredential(base);
    now.t = T + 269_999;
    assert.equal((await issuer.mintCallCredential(base)).jti, first.jti);
    now.t = T + 270_000;
    assert.equal((await issuer.mintCallCredential(base)).reused, false);

    const wide = { t: T };
    const { issuer: early } = await issuerAt(wide, { reuseMarginSeconds: 200 });
    const one = await early.mintCallCredential(base);
    wide.t = T + 99_999;
    assert.equal((await early.mintCallCredential(base)).jti, one.jti);
    wide.t = T + 100_000;
    assert.equal((await early.mintCallCredential(base)).reused, false);
  });

  it('does not reuse a credential that would outlive the task', async () => {
    const { issuer } = await issuerAt({ t: T });
    const first = await issuer.mintCallCredential(base);
    assert.equal((await issuer.mintCallCredential({ ...base, notAfter: T + 300_000 })).jti, first.jti);
    const cut = await issuer.mintCallCredential({ ...base, notAfter: T + 299_999 });
    assert.equal(cut.reused, false);
    assert.ok(cut.expiresAt <= T + 299_999);
  });

  it('keeps the most recently used credentials, up to its bound', async () => {
    const { issuer } = await issuerAt({ t: T }, { maxCachedCredentials: 2 });
    const a = await issuer.mintCallCredential({ ...base, scope: 'GET /a' });
    const b = await issuer.mintCallCredential({ ...base, scope: 'GET /b' });
    assert.equal((await issuer.mintCallCredential({ ...base, scope: 'GET /a' })).jti, a.jti);
    await issuer.mintCallCredential({ ...base, scope: 'GET /c' }); // evicts b, the least recently used
    assert.equal((await issuer.mintCallCredential({ ...base, scope: 'GET /a' })).jti, a.jti);
    assert.notEqual((await issuer.mintCallCredential({ ...base, scope: 'GET /b' })).jti, b.jti);
    const { issuer: one } = await issuerAt({ t: T }, { maxCachedCredentials: 1 });
    const x = await one.mintCallCredential({ ...base, scope: 'GET /a' });
    await one.mintCallCredential({ ...base, scope: 'GET /b' });
    assert.notEqual((await one.mintCallCredential({ ...base, scope: 'GET /a' })).jti, x.jti);
  });

  it('caches nothing with a bound of zero or less, and still mints', async () => {
    for (const maxCachedCredentials of [0, -1]) {
      const { issuer } = await issuerAt({ t: T }, { maxCachedCredentials });
      const first = await issuer.mintCallCredential(base);
      const second = await issuer.mintCallCredential(base);
      assert.equal(second.reused, false);
      assert.notEqual(second.jti, first.jti);
    }
  });

  it('forgets only the task or the credential named', async () => {
    const { issuer } = await issuerAt({ t: T });
    const t1 = await issuer.mintCallCredential(base);
    const t2 = await issuer.mintCallCredential({ ...base, taskId: 't2' });
    const other = await issuer.mintCallCredential({ ...base, scope: 'GET /other' });
    issuer.forgetTask('t2');
    assert.equal((await issuer.mintCallCredential(base)).jti, t1.jti);
    assert.notEqual((await issuer.mintCallCredential({ ...base, taskId: 't2' })).jti, t2.jti);
    issuer.forgetCredential(t1.jti);
    assert.equal((await issuer.mintCallCredential({ ...base, scope: 'GET /other' })).jti, other.jti);
    assert.notEqual((await issuer.mintCallCredential(base)).jti, t1.jti);
  });
});
