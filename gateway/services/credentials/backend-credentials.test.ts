import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Principal } from '../../kernel/index.js';
import { createMemoryRevocationStore } from '../../stores/memory-revocation-store.js';
import { createMemoryTaskStore } from '../../stores/memory-task-store.js';
import type { CatalogTool } from '../catalog/index.js';
import { createBackendCredentials } from './backend-credentials.js';
import { createCredentialIssuer } from './issuer.js';
import { createKeySet, generateSigningKey } from './keys.js';

const AUDIENCE = 'https://api.test';
const principal: Principal = { agentId: 'a1', tenant: 'acme', roles: [], authMethod: 'task-token' };
// Only the connector id and the tool's names are read when a credential is chosen.
const tool = {
  exposedName: 'api_get_user',
  connector: { id: 'api' },
  descriptor: { name: 'get_user' },
  flags: [],
} as unknown as CatalogTool;
const call = { principal, task: { id: 't1' }, tool, operation: { method: 'GET', path: '/users/1' }, elevated: false };

async function setup(isJtiRevoked?: (jti: string) => Promise<boolean>) {
  const keys = createKeySet({ active: await generateSigningKey() });
  const issuer = createCredentialIssuer({ issuer: 'https://gateway.test', keys });
  const revocation = createMemoryRevocationStore({ tasks: createMemoryTaskStore() });
  const credentials = await createBackendCredentials({
    config: { api: { type: 'jwt', audience: AUDIENCE } },
    issuer,
    env: {},
    baseDir: '.',
    tasksExpiry: async () => undefined,
    isJtiRevoked: isJtiRevoked ?? ((jti) => revocation.isJtiRevoked(jti)),
  });
  return { credentials, revocation };
}

/** The bearer token the provider sets on an outbound request, decoded. */
async function sentCredential(
  provided: Awaited<ReturnType<Awaited<ReturnType<typeof setup>>['credentials']['provider']>>,
) {
  const headers = new Headers();
  await provided.inject?.(headers, { url: `${AUDIENCE}/users/1`, method: 'GET' });
  const value = headers.get('authorization') ?? '';
  assert.match(value, /^Bearer /);
  return decodeJwt(value.slice('Bearer '.length));
}

describe('backend call credentials', () => {
  it('reuses a call credential for the same task and operation', async () => {
    const { credentials } = await setup();
    const first = await credentials.provider(call);
    const second = await credentials.provider(call);
    assert.equal(second.jti, first.jti);
    assert.equal((await sentCredential(second)).jti, first.jti);
  });

  it('never hands out a cached credential again once its jti is revoked in the shared store', async () => {
    const { credentials, revocation } = await setup();
    const first = await credentials.provider(call);
    assert.ok(first.jti !== undefined);
    // Revoked through the store only, as another instance would: this issuer's cache still holds it.
    await revocation.revokeJti(first.jti, Date.now() + 600_000);

    const next = await credentials.provider(call);
    assert.notEqual(next.jti, first.jti, 'a fresh credential replaces the revoked one');
    const sent = await sentCredential(next);
    assert.notEqual(sent.jti, first.jti, 'the revoked credential is not what the backend would receive');
    assert.equal(await revocation.isJtiRevoked(String(sent.jti)), false);
    assert.equal(sent.scope, 'GET /users/1');
  });

  it('hands out no credential when the revocation store cannot answer for a reused one', async () => {
    let down = false;
    const { credentials } = await setup(async () => {
      if (down) throw new Error('revocation store unreachable');
      return false;
    });
    await credentials.provider(call);
    down = true;
    await assert.rejects(credentials.provider(call), /revocation store unreachable/);
  });
});
