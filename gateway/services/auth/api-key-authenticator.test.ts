import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createApiKeyAuthenticator, digestApiKey, generateApiKey } from './api-key-authenticator.js';

describe('API key authenticator', () => {
  it('digests a key as hex sha256 over its UTF-8 bytes', () => {
    assert.equal(digestApiKey('pc_é'), createHash('sha256').update(Buffer.from('pc_é', 'utf8')).digest('hex'));
    assert.equal(digestApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('generates distinct pc_ keys of 32 random bytes in base64url', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    assert.match(a, /^pc_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  it('maps a key to exactly its agent, with the roles, tenant and environment configured', async () => {
    const roles = ['reader'];
    const key = generateApiKey();
    const other = generateApiKey();
    const authenticator = createApiKeyAuthenticator([
      { agentId: 'a1', roles, tenant: 'acme', environment: 'prod', keyDigests: [digestApiKey(key)] },
      { agentId: 'a2', roles: [], keyDigests: [digestApiKey(other)] },
    ]);
    roles.push('admin');
    assert.equal(authenticator.method, 'api-key');
    const principal = await authenticator.authenticate(key, {} as never);
    assert.deepEqual(principal, {
      agentId: 'a1',
      roles: ['reader'],
      tenant: 'acme',
      environment: 'prod',
      authMethod: 'api-key',
    });
    assert.ok(Object.isFrozen(principal));
    assert.ok(Object.isFrozen(principal!.roles));
    const plain = await authenticator.authenticate(other, {} as never);
    assert.deepEqual(plain, { agentId: 'a2', roles: [], authMethod: 'api-key' });
    assert.equal('tenant' in plain!, false);
    assert.equal('environment' in plain!, false);
    assert.equal(await authenticator.authenticate(`${key}x`, {} as never), undefined);
    assert.equal(await authenticator.authenticate(digestApiKey(key), {} as never), undefined);
  });

  it('accepts any of an agent’s keys', async () => {
    const [k1, k2] = [generateApiKey(), generateApiKey()];
    const authenticator = createApiKeyAuthenticator([
      { agentId: 'a1', roles: ['r'], keyDigests: [digestApiKey(k1), digestApiKey(k2)] },
    ]);
    assert.equal((await authenticator.authenticate(k1, {} as never))?.agentId, 'a1');
    assert.equal((await authenticator.authenticate(k2, {} as never))?.agentId, 'a1');
  });
});
