/**
 * Attack suite for task tokens: every forged, stale or revoked token is refused by the task token
 * authenticator (and, through the request authenticator, never falls through to another method).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { exportJWK, exportSPKI, SignJWT, type JWTPayload } from 'jose';
import { createApiKeyAuthenticator, digestApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { createRequestAuthenticator } from '../gateway/services/auth/authenticate.js';
import { createTaskTokenAuthenticator } from '../gateway/services/auth/token-authenticator.js';
import { AuthError, type Authenticator, type Principal } from '../gateway/kernel/principal.js';
import { CALL_CREDENTIAL_TYP, TASK_TOKEN_TYP } from '../gateway/verify/claims.js';
import { createCredentialIssuer, type CredentialIssuer } from '../gateway/services/credentials/issuer.js';
import {
  createKeySet,
  generateSigningKey,
  type KeySet,
  type SigningKey,
} from '../gateway/services/credentials/keys.js';
import { createMemoryRevocationStore } from '../gateway/stores/memory-revocation-store.js';
import type { RevocationStore } from '../gateway/services/revocation/types.js';
import { createMemoryTaskStore } from '../gateway/stores/memory-task-store.js';
import { createTaskService, type TaskService } from '../gateway/services/tasks/task-service.js';

const ISSUER = 'https://gateway.test';
const agent: Principal = { agentId: 'agent-1', roles: ['dev'], authMethod: 'api-key' };

let keys: KeySet;
let issuer: CredentialIssuer;
let revocation: RevocationStore;
let tasks: ReturnType<typeof createMemoryTaskStore>;
let service: TaskService;
let authenticator: Authenticator;
let rogue: SigningKey;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

async function openTask(): Promise<{ token: string; taskId: string; jti: string }> {
  const issued = await service.open(agent, { intent: 'attack suite' });
  const token = issued.token.reveal();
  const jti = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti as string;
  return { token, taskId: issued.task.id, jti };
}

/** Claims of a valid task token for a live task, to tamper with. */
async function validClaims(): Promise<JWTPayload> {
  const { taskId } = await openTask();
  const iat = nowSeconds();
  return { iss: ISSUER, aud: ISSUER, sub: agent.agentId, tid: taskId, iat, exp: iat + 300, jti: `j-${Math.random()}` };
}

async function sign(
  payload: JWTPayload,
  header: Record<string, unknown> = {},
  key: SigningKey = keys.signingKey(),
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: TASK_TOKEN_TYP, kid: key.kid, ...header })
    .sign(key.privateKey);
}

async function assertRejected(token: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(authenticator.authenticate(token, { headers: {}, url: '/mcp' }), (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected AuthError, got ${String(error)}`);
    assert.ok(!error.message.includes(token), 'error message must not echo the token');
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

before(async () => {
  keys = createKeySet({ active: await generateSigningKey() });
  rogue = await generateSigningKey();
  issuer = createCredentialIssuer({ issuer: ISSUER, keys });
  tasks = createMemoryTaskStore();
  revocation = createMemoryRevocationStore({ tasks });
  service = createTaskService({ store: tasks, revocation, issuer, maxTtlSeconds: 3600 });
  authenticator = createTaskTokenAuthenticator({
    issuer: ISSUER,
    keys,
    revocation,
    tasks,
    resolveAgent: () => ({ roles: ['dev'] }),
  });
});

describe('task token attacks', () => {
  it('accepts a genuine task token (control)', async () => {
    const { token, taskId } = await openTask();
    const principal = await authenticator.authenticate(token, { headers: {}, url: '/mcp' });
    assert.equal(principal?.agentId, agent.agentId);
    assert.equal(principal?.taskId, taskId);
    assert.equal(principal?.authMethod, 'task-token');
  });

  it('rejects alg: none', async () => {
    const claims = await validClaims();
    await assertRejected(`${b64({ alg: 'none', typ: TASK_TOKEN_TYP, kid: keys.signingKey().kid })}.${b64(claims)}.`);
  });

  it('rejects HS256 signed with the public key (PEM and JWK forms)', async () => {
    const claims = await validClaims();
    const spki = await exportSPKI(keys.signingKey().publicKey);
    const jwk = JSON.stringify(await exportJWK(keys.signingKey().publicKey));
    for (const secret of [spki, jwk]) {
      const input = `${b64({ alg: 'HS256', typ: TASK_TOKEN_TYP, kid: keys.signingKey().kid })}.${b64(claims)}`;
      const signature = createHmac('sha256', secret).update(input).digest('base64url');
      await assertRejected(`${input}.${signature}`, /algorithm/);
    }
  });

  it('rejects a wrong issuer', async () => {
    await assertRejected(await sign({ ...(await validClaims()), iss: 'https://evil.test' }));
  });

  it('rejects a wrong audience, and more than one audience', async () => {
    await assertRejected(await sign({ ...(await validClaims()), aud: 'https://other.test' }));
    await assertRejected(await sign({ ...(await validClaims()), aud: [ISSUER, 'https://other.test'] }));
  });

  it('rejects a wrong typ, including a call credential replayed as a task token', async () => {
    await assertRejected(await sign(await validClaims(), { typ: 'JWT' }));
    const { taskId } = await openTask();
    const call = await issuer.mintCallCredential({
      taskId,
      agentId: agent.agentId,
      audience: 'https://api.test',
      scope: 'tool:echo',
    });
    await assertRejected(call.token.reveal(), /not a task token/);
    await assertRejected(await sign(await validClaims(), { typ: CALL_CREDENTIAL_TYP }));
  });

  it('rejects an expired token (beyond the 30 s tolerance)', async () => {
    const claims = await validClaims();
    await assertRejected(await sign({ ...claims, iat: nowSeconds() - 400, exp: nowSeconds() - 31 }), /expired/);
  });

  it('rejects a token that is not yet valid (nbf) or issued in the future (iat)', async () => {
    await assertRejected(await sign({ ...(await validClaims()), nbf: nowSeconds() + 120 }));
    const claims = await validClaims();
    await assertRejected(await sign({ ...claims, iat: nowSeconds() + 120, exp: nowSeconds() + 400 }));
  });

  it('rejects missing jti, sub or tid', async () => {
    for (const claim of ['jti', 'sub', 'tid']) {
      const claims = await validClaims();
      delete claims[claim];
      await assertRejected(await sign(claims));
    }
  });

  it('rejects a kid pointing elsewhere, and our kid on a foreign signature', async () => {
    const claims = await validClaims();
    await assertRejected(await sign(claims, {}, rogue), /not signed by a key of this gateway/);
    await assertRejected(await sign(claims, { kid: keys.signingKey().kid }, rogue));
    await assertRejected(await sign(claims, { kid: undefined }));
  });

  it('rejects embedded jwk, jku, x5u and x5c headers even when the signature matches the embedded key', async () => {
    const claims = await validClaims();
    const rogueJwk = { ...rogue.publicJwk };
    await assertRejected(await sign(claims, { jwk: rogueJwk, kid: rogue.kid }, rogue), /header "jwk"/);
    await assertRejected(await sign(claims, { jku: 'https://evil.test/jwks.json' }), /header "jku"/);
    await assertRejected(await sign(claims, { x5u: 'https://evil.test/cert.pem' }), /header "x5u"/);
    await assertRejected(await sign(claims, { x5c: ['MIIB'] }), /header "x5c"/);
  });

  it('rejects the token of an ended task, also after it was cached', async () => {
    const { token, taskId } = await openTask();
    assert.ok(await authenticator.authenticate(token, { headers: {}, url: '/mcp' }));
    await service.end(taskId, agent);
    await assertRejected(token, /ended/);
  });

  it('rejects a token whose task is unknown', async () => {
    await assertRejected(await sign({ ...(await validClaims()), tid: 'no-such-task' }), /ended/);
  });

  it('rejects a revoked jti', async () => {
    const { token, jti } = await openTask();
    assert.ok(await authenticator.authenticate(token, { headers: {}, url: '/mcp' }));
    await revocation.revokeJti(jti, Date.now() + 600_000);
    await assertRejected(token, /revoked/);
  });

  it('rejects a disabled agent, and accepts again once enabled', async () => {
    const { token } = await openTask();
    await revocation.disableAgent(agent.agentId);
    try {
      await assert.rejects(
        authenticator.authenticate(token, { headers: {}, url: '/mcp' }),
        (e: unknown) => e instanceof AuthError && e.code === 'FORBIDDEN',
      );
    } finally {
      await revocation.enableAgent(agent.agentId);
    }
    assert.ok(await authenticator.authenticate(token, { headers: {}, url: '/mcp' }));
  });

  it('rejects a token signed by a rotated-out key after its overlap', async () => {
    let now = Date.now();
    const old = await generateSigningKey();
    const set = createKeySet({ active: old, overlapSeconds: 60, now: () => now });
    const localIssuer = createCredentialIssuer({ issuer: ISSUER, keys: set });
    const local = createTaskTokenAuthenticator({ issuer: ISSUER, keys: set, revocation, tasks, now: () => now });
    const { task } = await service.open(agent, { intent: 'rotation' });
    const token = (
      await localIssuer.mintTaskToken({ taskId: task.id, agentId: agent.agentId, ttlSeconds: 3000 })
    ).token.reveal();
    await set.rotate();
    assert.ok(await local.authenticate(token, { headers: {}, url: '/mcp' }), 'still valid during the overlap');
    now += 61_000;
    const fresh = createTaskTokenAuthenticator({ issuer: ISSUER, keys: set, revocation, tasks, now: () => now });
    await assert.rejects(fresh.authenticate(token, { headers: {}, url: '/mcp' }), AuthError);
  });

  it('returns undefined for bearers that are not JWTs or not ours, and the request chain still refuses forgeries', async () => {
    assert.equal(await authenticator.authenticate('pc_some-api-key', { headers: {}, url: '/mcp' }), undefined);
    const foreign = await sign({ ...(await validClaims()), iss: 'https://idp.test' }, { typ: 'JWT' });
    assert.equal(await authenticator.authenticate(foreign, { headers: {}, url: '/mcp' }), undefined);

    const chain = createRequestAuthenticator({
      authenticators: [
        authenticator,
        createApiKeyAuthenticator([{ agentId: 'key-agent', roles: [], keyDigests: [digestApiKey('pc_real')] }]),
      ],
    });
    const request = (bearer: string) => ({ headers: { authorization: `Bearer ${bearer}` }, url: '/mcp' });
    await assert.rejects(chain.authenticate(request(foreign)), AuthError);
    const claims = await validClaims();
    await assert.rejects(
      chain.authenticate(request(`${b64({ alg: 'none', typ: TASK_TOKEN_TYP })}.${b64(claims)}.`)),
      AuthError,
    );
    assert.equal((await chain.authenticate(request('pc_real'))).agentId, 'key-agent');
  });
});
