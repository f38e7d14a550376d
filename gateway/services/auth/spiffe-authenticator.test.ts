import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import {
  createSpiffeAuthenticator,
  normalizeTrustBundle,
  spiffeTrustDomain,
  TrustBundleError,
} from './spiffe-authenticator.js';
import { AuthError } from '../../kernel/principal.js';

const AUD = 'https://gateway.test';
const request = { headers: {}, url: '/mcp' };

async function setup() {
  const trusted = await generateKeyPair('ES256', { extractable: true });
  const untrusted = await generateKeyPair('ES256');
  const bundle = { keys: [{ ...(await exportJWK(trusted.publicKey)), kid: 'b1', use: 'jwt-svid' }] };
  const auth = createSpiffeAuthenticator({
    trustBundle: bundle,
    audience: AUD,
    agents: {
      'spiffe://prod.example/ns/agents/sa/triage': { agentId: 'triage', roles: ['reader'], tenant: 'acme' },
      'spiffe://prod.example/ns/agents/sa/plain': 'plain',
    },
  });
  const now = Math.floor(Date.now() / 1000);
  const svid = (claims: JWTPayload, key = trusted.privateKey, kid = 'b1') =>
    new SignJWT({ sub: 'spiffe://prod.example/ns/agents/sa/triage', aud: [AUD], iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .sign(key);
  return { auth, svid, untrusted, now };
}

describe('SPIFFE JWT-SVID authenticator', () => {
  it('maps a mapped SPIFFE id to its agent', async () => {
    const { auth, svid } = await setup();
    const principal = await auth.authenticate(await svid({}), request);
    assert.deepEqual(principal, {
      agentId: 'triage',
      roles: ['reader'],
      authMethod: 'spiffe',
      issuer: 'spiffe://prod.example',
      subject: 'spiffe://prod.example/ns/agents/sa/triage',
      tenant: 'acme',
      expiresAt: principal?.expiresAt,
    });
    assert.equal(
      (await auth.authenticate(await svid({ sub: 'spiffe://prod.example/ns/agents/sa/plain' }), request))?.agentId,
      'plain',
    );
  });

  it('refuses unmapped ids, other trust domains, other or several audiences, foreign keys and expired SVIDs', async () => {
    const { auth, svid, untrusted, now } = await setup();
    const cases = [
      await svid({ sub: 'spiffe://prod.example/ns/agents/sa/unknown' }),
      await svid({ sub: 'spiffe://evil.example/ns/agents/sa/triage' }),
      await svid({ aud: ['https://other.test'] }),
      await svid({ aud: [AUD, 'https://other.test'] }),
      await svid({}, untrusted.privateKey),
      await svid({ iat: now - 900, exp: now - 60 }),
    ];
    for (const token of cases) await assert.rejects(auth.authenticate(token, request), AuthError);
  });

  it('ignores bearers that are not SVIDs', async () => {
    const { auth, svid } = await setup();
    assert.equal(await auth.authenticate('pc_key', request), undefined);
    assert.equal(await auth.authenticate(await svid({ sub: 'agent-1' }), request), undefined);
  });

  it('validates SPIFFE ids and trust bundles', () => {
    assert.equal(spiffeTrustDomain('spiffe://prod.example/a/b'), 'prod.example');
    assert.equal(spiffeTrustDomain('spiffe://Prod.example/a'), undefined);
    assert.equal(spiffeTrustDomain('spiffe://prod.example/a/../b'), undefined);
    assert.equal(spiffeTrustDomain('https://prod.example/a'), undefined);
    assert.throws(() => normalizeTrustBundle({ keys: [{ kty: 'EC', use: 'x509-svid' }] }), TrustBundleError);
    assert.throws(() => normalizeTrustBundle({ keys: [{ kty: 'EC', d: 'private' }] }), TrustBundleError);
    assert.throws(() => normalizeTrustBundle([]), TrustBundleError);
  });
});
