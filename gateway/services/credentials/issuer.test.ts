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
