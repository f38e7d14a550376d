/**
 * OAuth bearer JWTs from a real identity provider (test/fixtures/idp.ts) served over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import {
  createOAuthAuthenticator,
  type OAuthAuthenticatorOptions,
} from '../gateway/services/auth/oauth-authenticator.js';
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

describe('OAuth authenticator: tokens it verified', () => {
  /** An authenticator on its own IdP, counting full verifications; its clock is `clock.now`. */
  async function counting(
    extra: Partial<OAuthAuthenticatorOptions> = {},
  ): Promise<{ auth: Authenticator; idp: Idp; verifications: () => number; clock: { now: number } }> {
    const own = await startIdp();
    let verifications = 0;
    const clock = { now: Date.now() };
    let authenticator: Authenticator;
    try {
      authenticator = createOAuthAuthenticator({
        issuer: own.issuer,
        jwksUrl: own.jwksUrl,
        audience: RESOURCE,
        algorithms: ['RS256'],
        agentIdClaim: 'client_id',
        requiredScopes: ['mcp:tools'],
        now: () => clock.now,
        verifyJwt: ((...args: Parameters<typeof jwtVerify>) => {
          verifications += 1;
          return jwtVerify(...args);
        }) as typeof jwtVerify,
        ...extra,
      });
    } catch (error) {
      await own.close(); // a refused setting must not leave the IdP holding the test run open
      throw error;
    }
    return { auth: authenticator, idp: own, verifications: () => verifications, clock };
  }

  const refused = (authenticator: Authenticator, token: string, message: RegExp) =>
    assert.rejects(
      authenticator.authenticate(token, request),
      (e: unknown) => e instanceof AuthError && e.code === 'UNAUTHENTICATED' && message.test(e.message),
    );

  it('checks a token once, and maps its claims on every request', async () => {
    const { auth: authenticator, idp: own, verifications } = await counting();
    try {
      const token = await own.mint({ claims: good });
      for (let i = 0; i < 3; i += 1) {
        const principal = await authenticator.authenticate(token, request);
        assert.equal(principal?.agentId, 'agent-7');
        assert.deepEqual(principal?.scopes, ['mcp:tools', 'repo:read']);
      }
      assert.equal(verifications(), 1);
      // Another token of the same agent is checked on its own.
      assert.ok(await authenticator.authenticate(await own.mint({ claims: { ...good, jti: 'second' } }), request));
      assert.equal(verifications(), 2);
      // A refused token is not remembered: refused again, checked again.
      const other = await own.mint({ claims: { ...good, aud: 'https://other.test' } });
      for (let i = 0; i < 2; i += 1) await refused(authenticator, other, /invalid/);
      assert.equal(verifications(), 4);
    } finally {
      await own.close();
    }
  });

  it('remembers nothing with a cache size below one, and keeps the most recently used tokens up to it', async () => {
    for (const cacheSize of [0, -1, 0.5]) {
      const { auth: authenticator, idp: own, verifications } = await counting({ cacheSize });
      try {
        const token = await own.mint({ claims: good });
        for (let i = 0; i < 2; i += 1) assert.ok(await authenticator.authenticate(token, request));
        assert.equal(verifications(), 2, `cache size ${cacheSize}`);
      } finally {
        await own.close();
      }
    }
    const { auth: authenticator, idp: own, verifications } = await counting({ cacheSize: 2 });
    try {
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((jti) => own.mint({ claims: { ...good, jti } })));
      for (const token of [a!, b!, a!]) assert.ok(await authenticator.authenticate(token, request));
      assert.equal(verifications(), 2, 'a is remembered while two fit');
      assert.ok(await authenticator.authenticate(c!, request)); // b, the least recently used, goes
      assert.ok(await authenticator.authenticate(a!, request));
      assert.equal(verifications(), 3);
      assert.ok(await authenticator.authenticate(b!, request));
      assert.equal(verifications(), 4);
    } finally {
      await own.close();
    }
  });

  it('checks a remembered token again once it has expired, and refuses it', async () => {
    const { auth: authenticator, idp: own, verifications, clock } = await counting();
    try {
      const token = await own.mint({ claims: good });
      const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
      assert.ok(await authenticator.authenticate(token, request));
      // From `exp` on, and within the clock tolerance after it, the token still holds, checked again.
      clock.now = exp * 1000;
      assert.ok(await authenticator.authenticate(token, request));
      assert.equal(verifications(), 2);
      clock.now += 10_000;
      assert.ok(await authenticator.authenticate(token, request));
      assert.equal(verifications(), 3);
      clock.now = exp * 1000 + 31_000;
      await refused(authenticator, token, /expired/);
      assert.equal(verifications(), 4);
    } finally {
      await own.close();
    }
  });

  for (const sameKid of [false, true]) {
    it(`refuses a remembered token once its key is rotated out${sameKid ? ' under the same kid' : ''}`, async () => {
      const { auth: authenticator, idp: own, verifications } = await counting({ jwksCacheMaxAgeMs: 500 });
      try {
        const token = await own.mint({ claims: good });
        assert.ok(await authenticator.authenticate(token, request));
        await own.rotate({ sameKid });
        // While the key set it was verified with is fresh, the IdP's change is not known yet.
        assert.ok(await authenticator.authenticate(token, request));
        assert.equal(verifications(), 1);
        await new Promise((resolve) => setTimeout(resolve, 550));
        const fetched = own.jwksRequests;
        await refused(authenticator, token, /invalid/);
        assert.ok(own.jwksRequests > fetched, 'the key set was fetched again');
        assert.equal(verifications(), 2);
        // A token signed with the new key is accepted.
        assert.ok(await authenticator.authenticate(await own.mint({ claims: good }), request));
      } finally {
        await own.close();
      }
    });
  }
});
