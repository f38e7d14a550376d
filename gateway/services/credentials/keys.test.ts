import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { calculateJwkThumbprint, exportPKCS8, generateKeyPair, exportJWK } from 'jose';
import {
  createKeySet,
  generateSigningKey,
  importSigningKey,
  KeyMaterialError,
  loadKeySet,
  openDevKeySet,
} from './keys.js';
import { Secret } from '../../kernel/secret.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('signing keys', () => {
  it('generates ES256 keys whose kid is the RFC 7638 thumbprint and whose JWKS is public only', async () => {
    const key = await generateSigningKey();
    assert.equal(key.alg, 'ES256');
    const { kid: _k, alg: _a, use: _u, ...members } = key.publicJwk;
    assert.equal(key.kid, await calculateJwkThumbprint(members, 'sha256'));
    const set = createKeySet({ active: key });
    const jwks = set.jwks();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.kid, key.kid);
    assert.equal(jwks.keys[0]?.use, 'sig');
    assert.equal('d' in (jwks.keys[0] ?? {}), false);
    assert.equal(key.privateKey.extractable, false);
  });

  it('imports PKCS#8 PEM and private JWK material (also wrapped in a Secret) to the same kid', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportPKCS8(pair.privateKey);
    const jwk = JSON.stringify(await exportJWK(pair.privateKey));
    const fromPem = await importSigningKey(new Secret(pem));
    const fromJwk = await importSigningKey(jwk);
    assert.equal(fromPem.kid, fromJwk.kid);
    assert.equal(fromJwk.alg, 'ES256');
  });

  it('rejects public-only or garbage material without echoing it', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const publicOnly = JSON.stringify(await exportJWK(pair.publicKey));
    await assert.rejects(importSigningKey(publicOnly), KeyMaterialError);
    await assert.rejects(
      importSigningKey('-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETVALUE\n-----END PRIVATE KEY-----'),
      (error: Error) => {
        assert.ok(error instanceof KeyMaterialError);
        assert.doesNotMatch(error.message, /SECRETVALUE/);
        return true;
      },
    );
  });

  it('rotates with overlap: the old key verifies and is published until its overlap ends', async () => {
    let now = 1_000_000;
    const first = await generateSigningKey();
    const set = createKeySet({ active: first, overlapSeconds: 60, now: () => now });
    const second = await set.rotate();
    assert.notEqual(second.kid, first.kid);
    assert.equal(set.signingKey().kid, second.kid);
    assert.equal(set.verificationKey(first.kid)?.kid, first.kid);
    assert.deepEqual(
      set.jwks().keys.map((k) => k.kid),
      [second.kid, first.kid],
    );
    now += 61_000;
    assert.equal(set.verificationKey(first.kid), undefined);
    assert.deepEqual(
      set.jwks().keys.map((k) => k.kid),
      [second.kid],
    );
  });

  it('loads a set with a previous key that retires at a given time', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const old = await generateKeyPair('ES256', { extractable: true });
    const set = await loadKeySet({
      active: await exportPKCS8(pair.privateKey),
      previous: [{ material: await exportPKCS8(old.privateKey), retiresAt: Date.now() + 60_000 }],
    });
    assert.equal(set.jwks().keys.length, 2);
    assert.deepEqual(set.algorithms, ['ES256']);
  });

  it('dev mode generates once, persists with mode 0600, and reloads the same keys including rotations', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-keys-'));
    dirs.push(dir);
    const keysDir = path.join(dir, 'keys');
    const first = await openDevKeySet({ dir: keysDir });
    const file = path.join(keysDir, 'signing-keys.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(keysDir)).mode & 0o777, 0o700);
    const again = await openDevKeySet({ dir: keysDir });
    assert.equal(again.signingKey().kid, first.signingKey().kid);

    const rotated = await again.rotate();
    const reopened = await openDevKeySet({ dir: keysDir });
    assert.equal(reopened.signingKey().kid, rotated.kid);
    assert.equal(reopened.verificationKey(first.signingKey().kid)?.kid, first.signingKey().kid);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    // The key file never leaks through inspection of the key set.
    assert.doesNotMatch(inspect(reopened.jwks(), { depth: 5 }), /"d"|\bd:/);
    assert.match(await readFile(file, 'utf8'), /"d"/);
  });
});
