/**
 * The OAuth authenticator's checks one by one, against a real identity provider over HTTP
 * (test/fixtures/idp.ts): what it refuses and with which error, how claims map to the principal, how the
 * IdP's JWKS is fetched, and the settings it refuses to start with.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { startIdp, type Idp } from '../../../test/fixtures/idp.js';
import { AuthError, type Authenticator, type Principal } from '../../kernel/index.js';
import {
  claimAt,
  createOAuthAuthenticator,
  stringList,
  type OAuthAuthenticatorOptions,
} from './oauth-authenticator.js';

const RESOURCE = 'https://gateway.test/mcp';
const request = { headers: {}, url: '/mcp' };

let idp: Idp;
before(async () => {
  idp = await startIdp();
});
after(async () => {
  await idp.close();
});

function authenticator(extra: Partial<OAuthAuthenticatorOptions> = {}): Authenticator {
  return createOAuthAuthenticator({
    issuer: idp.issuer,
    jwksUrl: idp.jwksUrl,
    audience: RESOURCE,
    algorithms: ['RS256'],
    ...extra,
  });
}

const claims = { aud: RESOURCE, sub: 'agent-1', scope: 'mcp:tools' };

/** The AuthError `authenticate` throws for `token`: its code, bearer error and message. */
async function refusal(auth: Authenticator, token: string): Promise<AuthError> {
  try {
    await auth.authenticate(token, request);
  } catch (error) {
    assert.ok(error instanceof AuthError, String(error));
    return error;
  }
  assert.fail('the token was accepted');
}

/** `token` with its header replaced by `header` (the signature no longer fits, which is checked later). */
function withHeader(token: string, header: Record<string, unknown>): string {
  const [, payload, signature] = token.split('.');
  return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}.${signature}`;
}

async function invalidToken(auth: Authenticator, token: string, message: RegExp): Promise<void> {
  const error = await refusal(auth, token);
  assert.equal(error.code, 'UNAUTHENTICATED');
  assert.equal(error.bearerError, 'invalid_token');
  assert.match(error.message, message);
}

describe('OAuth authenticator checks', () => {
  it('maps the claims to a principal: subject, scopes, roles, tenant and expiry', async () => {
    const token = await idp.mint({
      claims: { ...claims, scope: 'mcp:tools repo:read', roles: ['a', 'b'], org: 'acme' },
    });
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
    const principal = await authenticator({ rolesClaim: 'roles', tenantClaim: 'org' }).authenticate(token, request);
    assert.deepEqual(principal, {
      agentId: 'agent-1',
      roles: ['a', 'b'],
      authMethod: 'oauth',
      issuer: idp.issuer,
      subject: 'agent-1',
      scopes: ['mcp:tools', 'repo:read'],
      tenant: 'acme',
      expiresAt: exp * 1000,
    } satisfies Principal);
  });

  it('takes the agent from the configured claim, keeps `sub` as the subject, and no roles or tenant unless configured', async () => {
    const token = await idp.mint({ claims: { ...claims, client_id: 'agent-9', roles: ['a'], org: 'acme' } });
    const principal = await authenticator({ agentIdClaim: 'client_id' }).authenticate(token, request);
    assert.equal(principal?.agentId, 'agent-9');
    assert.equal(principal?.subject, 'agent-1');
    assert.deepEqual(principal?.roles, []);
    assert.equal(principal?.tenant, undefined);
    assert.equal('tenant' in (principal ?? {}), false);
    // Without `sub`, the subject is the agent.
    const { sub: _sub, ...noSub } = claims;
    const bare = await authenticator({ agentIdClaim: 'client_id' }).authenticate(
      await idp.mint({ claims: { ...noSub, client_id: 'agent-9' } }),
      request,
    );
    assert.equal(bare?.subject, 'agent-9');
  });

  it('refuses a token that does not name a well-formed agent', async () => {
    for (const sub of ['', 'has space', 'x'.repeat(257), 7]) {
      const token = await idp.mint({ claims: { ...claims, sub } as JWTPayload });
      await invalidToken(authenticator(), token, /does not identify an agent/);
    }
    assert.ok(
      await authenticator().authenticate(await idp.mint({ claims: { ...claims, sub: 'x'.repeat(256) } }), request),
    );
  });

  it('refuses a tenant claim that is not a string', async () => {
    const token = await idp.mint({ claims: { ...claims, org: { name: 'acme' } } });
    await invalidToken(authenticator({ tenantClaim: 'org' }), token, /tenant claim is malformed/);
  });

  it('answers a missing scope with insufficient_scope, naming the scopes missing', async () => {
    const auth = authenticator({ requiredScopes: ['mcp:tools', 'mcp:admin', 'repo:read'] });
    const error = await refusal(auth, await idp.mint({ claims: { ...claims, scope: 'mcp:tools' } }));
    assert.equal(error.code, 'INSUFFICIENT_SCOPE');
    assert.equal(error.bearerError, 'insufficient_scope');
    assert.equal(error.message, 'token lacks required scope: mcp:admin repo:read');
    // Scopes as an array claim.
    const listed = await authenticator({ scopeClaim: 'scp', requiredScopes: ['mcp:tools'] }).authenticate(
      await idp.mint({ claims: { ...claims, scp: ['mcp:tools', 7, ''] } }),
      request,
    );
    assert.deepEqual(listed?.scopes, ['mcp:tools']);
  });

  it('requires iss, aud, exp and iat, and the claims configured besides them', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const left of ['exp', 'iat'] as const) {
      const token = await idp.mint({ claims: { ...claims, iat: now, exp: now + 300, [left]: undefined } });
      await invalidToken(authenticator(), token, /invalid/);
    }
    await invalidToken(authenticator({ requiredClaims: ['jti'] }), await idp.mint({ claims }), /invalid/);
    assert.ok(
      await authenticator({ requiredClaims: ['jti'] }).authenticate(
        await idp.mint({ claims: { ...claims, jti: 'j' } }),
        request,
      ),
    );
  });

  it('refuses a token issued in the future, beyond the clock tolerance', async () => {
    // The authenticator's clock stands still at `now`, so no second can pass between minting and checking.
    const now = Math.floor(Date.now() / 1000);
    const at = (options: Partial<OAuthAuthenticatorOptions> = {}) =>
      authenticator({ now: () => now * 1000, ...options });
    const issuedIn = (seconds: number) => idp.mint({ claims: { ...claims, iat: now + seconds, exp: now + 600 } });
    await invalidToken(at(), await issuedIn(31), /issued in the future/);
    assert.ok(await at().authenticate(await issuedIn(25), request));
    // At the tolerance exactly, it is not in the future yet.
    assert.ok(await at().authenticate(await issuedIn(30), request));
    // With a tolerance of its own.
    await invalidToken(at({ clockToleranceSeconds: 0 }), await issuedIn(1), /issued in the future/);
    assert.ok(await at({ clockToleranceSeconds: 0 }).authenticate(await issuedIn(0), request));
  });

  it('checks the `typ` header only when configured', async () => {
    const typed = await idp.mint({ claims, header: { typ: 'JWT' } });
    assert.ok(await authenticator().authenticate(typed, request));
    await invalidToken(authenticator({ typ: 'at+jwt' }), typed, /token is invalid/);
  });

  it('refuses key material in the header and algorithms not configured', async () => {
    const signed = await idp.mint({ claims });
    for (const name of ['jwk', 'jku', 'x5u', 'x5c', 'crit']) {
      const token = withHeader(signed, { alg: 'RS256', kid: 'idp-key-1', [name]: name === 'crit' ? ['exp'] : 'x' });
      await invalidToken(authenticator(), token, /header carries key material/);
    }
    await invalidToken(
      authenticator(),
      withHeader(signed, { alg: 'ES256', kid: 'idp-key-1' }),
      /algorithm is not accepted/,
    );
    await invalidToken(authenticator(), withHeader(signed, { kid: 'idp-key-1' }), /algorithm is not accepted/);
    // The header is all that changed: the same token with its own header is accepted.
    assert.ok(await authenticator().authenticate(signed, request));
  });

  it('tells a token the IdP did not sign from one it cannot check right now', async () => {
    await invalidToken(authenticator(), await idp.mint({ claims, unpublishedKey: true }), /token is invalid/);
    const now = Math.floor(Date.now() / 1000);
    await invalidToken(
      authenticator(),
      await idp.mint({ claims: { ...claims, iat: now - 900, exp: now - 60 } }),
      /expired/,
    );
    const down = createOAuthAuthenticator({
      issuer: idp.issuer,
      jwksUrl: 'http://127.0.0.1:1/jwks.json',
      audience: RESOURCE,
      algorithms: ['RS256'],
      jwksTimeoutMs: 2000,
    });
    await invalidToken(down, await idp.mint({ claims }), /cannot be verified right now/);
  });

  it('calls a JWKS that does not answer in time, or answers with no key set, an outage rather than a bad token', async () => {
    const token = await idp.mint({ claims });
    const keySet = await (await fetch(idp.jwksUrl)).text();
    const answers: Record<string, (res: ServerResponse) => void> = {
      '/slow.json': () => undefined,
      // The IdP's keys, a second late: later than the timeout, so the token is not checked against them.
      '/late.json': (res) => {
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(keySet), 1000).unref();
      },
      '/garbage.json': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":5}'),
      '/missing.json': (res) => res.writeHead(404).end(),
    };
    const jwksServer = createServer((req, res) => answers[req.url ?? '']?.(res));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
    try {
      for (const file of Object.keys(answers)) {
        const auth = authenticator({ jwksUrl: `${base}${file}`, jwksTimeoutMs: 200 });
        await invalidToken(auth, token, /cannot be verified right now/);
      }
    } finally {
      jwksServer.closeAllConnections();
      await new Promise((resolve) => jwksServer.close(resolve));
    }
  });

  it("fetches the JWKS through the gateway's fetch when given one", async () => {
    const fetched: string[] = [];
    const auth = authenticator({
      jwksFetch: (url, init) => {
        fetched.push(String(url));
        return fetch(url, init);
      },
    });
    assert.ok(await auth.authenticate(await idp.mint({ claims }), request));
    assert.deepEqual(fetched, [idp.jwksUrl]);
  });

  it("leaves another issuer's tokens and non-JWTs to the next authenticator, as method oauth", async () => {
    const auth = authenticator();
    assert.equal(auth.method, 'oauth');
    assert.equal(
      await auth.authenticate(await idp.mint({ claims: { ...claims, iss: 'https://elsewhere.test' } }), request),
      undefined,
    );
    assert.equal(await auth.authenticate('pc_key', request), undefined);
  });

  it('refuses to start with no algorithm, or with a symmetric one or none', () => {
    for (const algorithms of [[], ['HS256'], ['RS256', 'HS512'], ['none']]) {
      assert.throws(
        () => createOAuthAuthenticator({ issuer: idp.issuer, jwksUrl: idp.jwksUrl, audience: RESOURCE, algorithms }),
        (error: unknown) => error instanceof TypeError && /algorithm/.test(error.message),
        JSON.stringify(algorithms),
      );
    }
  });
});

describe('claim paths and list claims', () => {
  it('reads dotted paths into objects, and nothing through arrays or scalars', () => {
    const payload = { a: { b: { c: 'x' } }, list: [{ b: 1 }], n: 3 };
    assert.equal(claimAt(payload, 'a.b.c'), 'x');
    assert.equal(claimAt(payload, 'a.missing.c'), undefined);
    assert.equal(claimAt(payload, 'list.0.b'), undefined);
    assert.equal(claimAt(payload, 'n.x'), undefined);
    assert.equal(claimAt({ s: 'abc' }, 's.length'), undefined);
    assert.equal(claimAt({ n: null }, 'n.x'), undefined);
  });

  it('takes a space-separated string or the non-empty strings of an array', () => {
    assert.deepEqual(stringList('a  b c'), ['a', 'b', 'c']);
    assert.deepEqual(stringList(['a', '', 3, 'b']), ['a', 'b']);
    assert.deepEqual(stringList({ a: 1 }), []);
  });
});
