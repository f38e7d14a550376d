/**
 * OAuth bearer JWTs from a real identity provider (test/fixtures/idp.ts) served over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOAuthAuthenticator } from '../gateway/services/auth/oauth-authenticator.js';
import { AuthError, type Authenticator } from '../gateway/kernel/principal.js';
import { startIdp, type Idp } from './fixtures/idp.js';

const RESOURCE = 'https://gateway.test/mcp';
const request = { headers: {}, url: '/mcp' };
let idp: Idp;
let auth: Authenticator;

before(async () => {
  idp = await startIdp();
  auth = createOAuthAuthenticator({
    issuer: idp.issuer,
    jwksUrl: idp.jwksUrl,
    audience: RESOURCE,
    algorithms: ['RS256'],
    typ: 'at+jwt',
    agentIdClaim: 'client_id',
    rolesClaim: 'realm_access.roles',
    tenantClaim: 'org',
    requiredScopes: ['mcp:tools'],
  });
});

after(async () => {
  await idp.close();
});

const good = {
  aud: RESOURCE,
  sub: 'user-1',
  client_id: 'agent-7',
  scope: 'mcp:tools repo:read',
  org: 'acme',
  realm_access: { roles: ['dev', 'ops'] },
};

async function rejects(
  token: string,
  code: 'UNAUTHENTICATED' | 'INSUFFICIENT_SCOPE' = 'UNAUTHENTICATED',
): Promise<void> {
  await assert.rejects(auth.authenticate(token, request), (e: unknown) => e instanceof AuthError && e.code === code);
}

describe('OAuth authenticator', () => {
  it('maps a valid IdP token to a principal by the configured claims', async () => {
    const principal = await auth.authenticate(await idp.mint({ claims: good }), request);
    assert.equal(principal?.agentId, 'agent-7');
    assert.deepEqual(principal?.roles, ['dev', 'ops']);
    assert.equal(principal?.tenant, 'acme');
    assert.deepEqual(principal?.scopes, ['mcp:tools', 'repo:read']);
    assert.equal(principal?.authMethod, 'oauth');
    assert.ok(idp.jwksRequests >= 1);
  });

  it('caches the IdP JWKS across verifications', async () => {
    const before = idp.jwksRequests;
    for (let i = 0; i < 3; i += 1) assert.ok(await auth.authenticate(await idp.mint({ claims: good }), request));
    assert.equal(idp.jwksRequests, before);
  });

  it('pins the audience (missing or other audience is refused)', async () => {
    await rejects(await idp.mint({ claims: { ...good, aud: 'https://other.test' } }));
    const { aud: _aud, ...noAud } = good;
    await rejects(await idp.mint({ claims: noAud }));
  });

  it('pins algorithms and typ, refuses unpublished keys and embedded keys', async () => {
    await rejects(await idp.mint({ claims: good, header: { typ: 'JWT' } }));
    await rejects(await idp.mint({ claims: good, unpublishedKey: true }));
    await rejects(await idp.mint({ claims: good, header: { jku: 'https://evil.test/jwks' } }));
    const payload = (await idp.mint({ claims: good })).split('.')[1] ?? '';
    await rejects(`${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`);
  });

  it('refuses expired tokens and tokens without a subject claim', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(await idp.mint({ claims: { ...good, iat: now - 900, exp: now - 60 } }));
    const { client_id: _c, ...noAgent } = good;
    await rejects(await idp.mint({ claims: noAgent }));
  });

  it('missing required scope is INSUFFICIENT_SCOPE', async () => {
    await rejects(await idp.mint({ claims: { ...good, scope: 'repo:read' } }), 'INSUFFICIENT_SCOPE');
  });

  it('returns undefined for tokens of other issuers and non-JWTs', async () => {
    assert.equal(
      await auth.authenticate(await idp.mint({ claims: { ...good, iss: 'https://elsewhere.test' } }), request),
      undefined,
    );
    assert.equal(await auth.authenticate('pc_key', request), undefined);
  });

  it('fails closed when the IdP JWKS cannot be fetched', async () => {
    const token = await idp.mint({ claims: good });
    const unreachable = createOAuthAuthenticator({
      issuer: idp.issuer,
      jwksUrl: 'http://127.0.0.1:1/jwks.json',
      audience: RESOURCE,
      algorithms: ['RS256'],
    });
    await assert.rejects(
      unreachable.authenticate(token, request),
      (e: unknown) => e instanceof AuthError && /cannot be verified/.test(e.message),
    );
  });
});
