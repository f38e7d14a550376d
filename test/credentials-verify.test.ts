/**
 * The backend verify helper against a real gateway-side HTTP server (JWKS + RFC 7662 introspection) and a
 * real express backend using the middleware. Every refusal also asserts the backend handler never ran.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { SignJWT } from 'jose';
import { CALL_CREDENTIAL_TYP } from '../gateway/verify/claims.js';
import { createCredentialIssuer, type CredentialIssuer } from '../gateway/services/credentials/issuer.js';
import { createKeySet, generateSigningKey, type KeySet } from '../gateway/services/credentials/keys.js';
import { createOwnTokenVerifier } from '../gateway/services/credentials/own-token-verifier.js';
import { createMemoryRevocationStore } from '../gateway/stores/memory-revocation-store.js';
import { createMemoryTaskStore } from '../gateway/stores/memory-task-store.js';
import { createCallVerifier, type CallVerifier } from '../gateway/verify/index.js';
import { createIntrospectionRouter } from '../gateway/edges/http/introspection-router.js';

const CLIENT_SECRET = 'backend-secret-for-tests';
const servers: Server[] = [];
let gatewayUrl: string;
let backendUrl: string;
let keys: KeySet;
let issuer: CredentialIssuer;
const tasks = createMemoryTaskStore();
const revocation = createMemoryRevocationStore({ tasks });
let handled: string[] = [];
let backendAudience: string;

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  keys = createKeySet({ active: await generateSigningKey() });
  const gateway = express();
  gateway.get('/.well-known/jwks.json', (_req, res) => void res.json(keys.jwks()));
  // Issuer URL must be known before minting; the gateway listens first.
  gatewayUrl = await listen(gateway);
  issuer = createCredentialIssuer({ issuer: gatewayUrl, keys });
  gateway.use(
    createIntrospectionRouter({
      verifyOwnToken: createOwnTokenVerifier({ issuer: gatewayUrl, keys }),
      revocation,
      clients: [{ id: 'repo-api', secretSha256: createHash('sha256').update(CLIENT_SECRET).digest('hex') }],
    }),
  );

  const backend = express();
  backendUrl = await listen(backend);
  backendAudience = backendUrl;
  const verifier = createCallVerifier({
    jwksUrl: `${gatewayUrl}/.well-known/jwks.json`,
    issuer: gatewayUrl,
    audience: backendAudience,
    introspection: { url: `${gatewayUrl}/oauth/introspect`, clientId: 'repo-api', clientSecret: CLIENT_SECRET },
  });
  backend.use(verifier.middleware());
  backend.all('/{*rest}', (req, res) => {
    handled.push(`${req.method} ${req.originalUrl}`);
    res.json({ ok: true, agent: (res.locals['portcullis'] as { sub: string }).sub });
  });
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function liveTask(): Promise<string> {
  const id = `t-${Math.random().toString(36).slice(2)}`;
  await tasks.create({ id, agentId: 'agent-1', intent: 'x', createdAt: Date.now(), expiresAt: Date.now() + 600_000 });
  return id;
}

async function credential(scope: string, options: { audience?: string; taskId?: string } = {}) {
  return issuer.mintCallCredential({
    taskId: options.taskId ?? (await liveTask()),
    agentId: 'agent-1',
    audience: options.audience ?? backendAudience,
    scope,
  });
}

async function send(method: string, path: string, token: string, scheme = 'Bearer') {
  handled = [];
  const response = await fetch(`${backendUrl}${path}`, { method, headers: { authorization: `${scheme} ${token}` } });
  return { status: response.status, body: (await response.json()) as { agent?: string; error: { code: string } } };
}

describe('call credential verification at a backend', () => {
  it('accepts the credential for exactly its operation', async () => {
    const minted = await credential('GET /repos/acme/app');
    const response = await send('GET', '/repos/acme/app?page=2', minted.token.reveal());
    assert.equal(response.status, 200);
    assert.equal(response.body.agent, 'agent-1');
    assert.deepEqual(handled, ['GET /repos/acme/app?page=2']);
  });

  it('reads the Bearer scheme in any letter case', async () => {
    const token = (await credential('GET /repos/acme/app')).token.reveal();
    for (const scheme of ['bearer', 'BEARER']) {
      const response = await send('GET', '/repos/acme/app', token, scheme);
      assert.equal(response.status, 200, scheme);
      assert.deepEqual(handled, ['GET /repos/acme/app']);
    }
    const other = await send('GET', '/repos/acme/app', token, 'Basic');
    assert.equal(other.status, 401);
    assert.deepEqual(handled, []);
  });

  it('rejects it for another method or another path, and nothing reaches the handler', async () => {
    const token = (await credential('GET /repos/acme/app')).token.reveal();
    for (const [method, path] of [
      ['DELETE', '/repos/acme/app'],
      ['GET', '/repos/acme/other'],
      ['GET', '/repos/acme/app/'],
      ['GET', '/repos/acme/%61pp'],
    ] as const) {
      const response = await send(method, path, token);
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(response.body.error.code, 'SCOPE_MISMATCH');
      assert.deepEqual(handled, []);
    }
  });

  it('rejects a credential minted for another audience', async () => {
    const token = (await credential('GET /repos/acme/app', { audience: 'https://other-backend.test' })).token.reveal();
    const response = await send('GET', '/repos/acme/app', token);
    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'INVALID_CREDENTIAL');
    assert.deepEqual(handled, []);
  });

  it('rejects a revoked jti through real introspection, before the credential expires', async () => {
    const minted = await credential('POST /repos/acme/app/issues');
    assert.equal((await send('POST', '/repos/acme/app/issues', minted.token.reveal())).status, 200);
    await revocation.revokeJti(minted.jti, minted.expiresAt);
    const response = await send('POST', '/repos/acme/app/issues', minted.token.reveal());
    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'CREDENTIAL_INACTIVE');
    assert.deepEqual(handled, []);
  });

  it('rejects the credentials of an ended task through introspection', async () => {
    const taskId = await liveTask();
    const minted = await credential('GET /x', { taskId });
    await tasks.end(taskId, 'done');
    const response = await send('GET', '/x', minted.token.reveal());
    assert.equal(response.status, 401);
    assert.deepEqual(handled, []);
  });

  it('rejects a task token, a forged signature and a missing credential', async () => {
    const taskId = await liveTask();
    const taskToken = (await issuer.mintTaskToken({ taskId, agentId: 'agent-1', ttlSeconds: 60 })).token.reveal();
    assert.equal((await send('GET', '/x', taskToken)).status, 401);
    const rogue = await generateSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({
      iss: gatewayUrl,
      aud: backendAudience,
      sub: 'agent-1',
      tid: taskId,
      scope: 'GET /x',
      iat: now,
      exp: now + 60,
      jti: 'j',
    })
      .setProtectedHeader({ alg: 'ES256', typ: CALL_CREDENTIAL_TYP, kid: keys.signingKey().kid })
      .sign(rogue.privateKey);
    assert.equal((await send('GET', '/x', forged)).status, 401);
    const missing = await fetch(`${backendUrl}/x`);
    assert.equal(missing.status, 401);
    assert.deepEqual(handled, []);
  });

  it('verify() checks tool scopes', async () => {
    const verifier: CallVerifier = createCallVerifier({
      jwksUrl: `${gatewayUrl}/.well-known/jwks.json`,
      issuer: gatewayUrl,
      audience: backendAudience,
    });
    const token = (await credential('tool:echo')).token.reveal();
    assert.equal((await verifier.verify(token, { tool: 'echo' })).scope, 'tool:echo');
    await assert.rejects(verifier.verify(token, { tool: 'delete_repo' }), /does not cover/);
  });

  it('fails closed when the gateway cannot be reached', async () => {
    const verifier = createCallVerifier({
      jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json',
      issuer: gatewayUrl,
      audience: backendAudience,
    });
    const token = (await credential('tool:echo')).token.reveal();
    await assert.rejects(
      verifier.verify(token, { tool: 'echo' }),
      (e: Error & { code?: string }) => e.code === 'VERIFIER_UNAVAILABLE',
    );
  });
});

describe('introspection endpoint', () => {
  async function introspect(body: Record<string, string>, auth?: string) {
    const response = await fetch(`${gatewayUrl}/oauth/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(auth !== undefined ? { authorization: auth } : {}),
      },
      body: new URLSearchParams(body).toString(),
    });
    return {
      status: response.status,
      body: (await response.json()) as { active: boolean; jti?: string; scope?: string },
    };
  }
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  it('requires client authentication', async () => {
    const token = (await credential('GET /x')).token.reveal();
    assert.equal((await introspect({ token })).status, 401);
    assert.equal((await introspect({ token }, basic('repo-api', 'wrong'))).status, 401);
    assert.equal((await introspect({ token }, basic('nobody', CLIENT_SECRET))).status, 401);
    assert.equal(
      (
        await introspect(
          { token, client_id: 'repo-api', client_secret: CLIENT_SECRET },
          basic('repo-api', CLIENT_SECRET),
        )
      ).status,
      401,
    );
    const ok = await introspect({ token, client_id: 'repo-api', client_secret: CLIENT_SECRET });
    assert.equal(ok.body.active, true);
  });

  it('answers active with claims for a live credential and inactive for anything else', async () => {
    const minted = await credential('GET /x');
    const live = await introspect({ token: minted.token.reveal() }, basic('repo-api', CLIENT_SECRET));
    assert.equal(live.body.active, true);
    assert.equal(live.body.jti, minted.jti);
    assert.equal(live.body.scope, 'GET /x');
    for (const token of ['garbage', minted.token.reveal().slice(0, -4) + 'AAAA']) {
      assert.deepEqual((await introspect({ token }, basic('repo-api', CLIENT_SECRET))).body, { active: false });
    }
    await revocation.disableAgent('agent-1');
    try {
      assert.deepEqual((await introspect({ token: minted.token.reveal() }, basic('repo-api', CLIENT_SECRET))).body, {
        active: false,
      });
    } finally {
      await revocation.enableAgent('agent-1');
    }
  });
});
