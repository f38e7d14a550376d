import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Request, Response } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { CALL_CREDENTIAL_TYP, CLOCK_TOLERANCE_SECONDS, callCredentialAgent, SCOPE_PATTERN } from './claims.js';
import {
  CallVerificationError,
  createCallVerifier,
  rawPath,
  scopeFor,
  type CallOperation,
  type CallVerifierOptions,
} from './call-verifier.js';

const ISSUER = 'https://gateway.test';
const AUDIENCE = 'https://billing.test';
let privateKey: CryptoKey;
let otherKey: CryptoKey;
let jwksServer: Server;
let jwksUrl: string;

before(async () => {
  ({ privateKey } = await generateKeyPair('ES256', { extractable: true }));
  const pair = await generateKeyPair('ES256', { extractable: true });
  otherKey = pair.privateKey;
  const jwk = { ...(await exportJWK(await publicOf(privateKey))), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
after(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

/** The public half of an extractable EC private key. */
async function publicOf(key: CryptoKey): Promise<CryptoKey> {
  const { d: _d, ...jwk } = await exportJWK(key);
  return (await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'verify',
  ])) as CryptoKey;
}

const now = () => Math.floor(Date.now() / 1000);

async function credential(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = privateKey,
): Promise<string> {
  const t = now();
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'agent-1',
    tid: 'task-1',
    scope: 'POST /v1/refunds',
    iat: t,
    exp: t + 60,
    jti: 'jti-1',
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: CALL_CREDENTIAL_TYP, kid: 'k1', ...header })
    .sign(key);
}

const verifier = (options: Partial<CallVerifierOptions> = {}) =>
  createCallVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, ...options });
const refund = { method: 'post', path: '/v1/refunds' };

async function rejectsWith(promise: Promise<unknown>, code: string, message: string | RegExp, status?: number) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CallVerificationError);
    assert.equal(error.name, 'CallVerificationError');
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    if (status !== undefined) assert.equal(error.status, status);
    return true;
  });
}

describe('call verifier', () => {
  it('accepts a credential for exactly this backend and operation, and returns its claims', async () => {
    const t = now();
    const claims = await verifier().verify(await credential({ iat: t, exp: t + 60 }), refund);
    assert.deepEqual(claims, {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'agent-1',
      tid: 'task-1',
      scope: 'POST /v1/refunds',
      iat: t,
      exp: t + 60,
      jti: 'jti-1',
    });
  });

  it('returns the actor and the elevation flag when present', async () => {
    const claims = await verifier().verify(
      await credential({ sub: 'user-9', act: { sub: 'agent-1', extra: 1 }, elv: true }),
      refund,
    );
    assert.deepEqual(claims.act, { sub: 'agent-1' });
    assert.equal(claims.elv, true);
    assert.equal(callCredentialAgent(claims), 'agent-1');
    const plain = await verifier().verify(await credential({ elv: 'yes' }), refund);
    assert.equal('elv' in plain, false);
    assert.equal('act' in plain, false);
    assert.equal(callCredentialAgent(plain), 'agent-1');
  });

  it('refuses what is not a JWT, and tokens carrying their own keys or critical headers', async () => {
    await rejectsWith(verifier().verify('not-a-jwt', refund), 'INVALID_CREDENTIAL', 'credential is not a JWT', 401);
    for (const name of ['jwk', 'jku', 'x5u', 'x5c', 'crit']) {
      const value =
        name === 'crit' ? ['exp'] : name === 'x5c' ? ['AAAA'] : name === 'jwk' ? { kty: 'EC' } : 'https://x';
      const token = await credential({}, { [name]: value }).catch(async () => {
        // jose refuses to sign some of these; forge the header by hand.
        const good = await credential();
        const [, payload, signature] = good.split('.');
        const header = Buffer.from(
          JSON.stringify({ alg: 'ES256', typ: CALL_CREDENTIAL_TYP, kid: 'k1', [name]: value }),
        ).toString('base64url');
        return `${header}.${payload}.${signature}`;
      });
      await rejectsWith(
        verifier().verify(token, refund),
        'INVALID_CREDENTIAL',
        `credential header "${name}" is not accepted`,
      );
    }
  });

  it('refuses another token type, an algorithm not allowed, and a token without a key id', async () => {
    await rejectsWith(
      verifier().verify(await credential({}, { typ: 'portcullis-task+jwt' }), refund),
      'INVALID_CREDENTIAL',
      'not a call credential',
    );
    await rejectsWith(
      verifier({ algorithms: ['RS256'] }).verify(await credential(), refund),
      'INVALID_CREDENTIAL',
      'credential algorithm is not accepted',
    );
    const good = await credential();
    const [, payload, signature] = good.split('.');
    const noAlg = Buffer.from(JSON.stringify({ typ: CALL_CREDENTIAL_TYP, kid: 'k1' })).toString('base64url');
    await rejectsWith(
      verifier().verify(`${noAlg}.${payload}.${signature}`, refund),
      'INVALID_CREDENTIAL',
      'credential algorithm is not accepted',
    );
    await rejectsWith(
      verifier().verify(await credential({}, { kid: undefined }), refund),
      'INVALID_CREDENTIAL',
      'credential has no key id',
    );
  });

  it('refuses a bad signature, an unknown key, another issuer or audience, and an expired credential', async () => {
    const invalid = 'credential is invalid or expired';
    await rejectsWith(verifier().verify(await credential({}, {}, otherKey), refund), 'INVALID_CREDENTIAL', invalid);
    await rejectsWith(verifier().verify(await credential({}, { kid: 'k2' }), refund), 'INVALID_CREDENTIAL', invalid);
    await rejectsWith(
      verifier().verify(await credential({ iss: 'https://evil.test' }), refund),
      'INVALID_CREDENTIAL',
      invalid,
    );
    await rejectsWith(
      verifier().verify(await credential({ aud: 'https://other.test' }), refund),
      'INVALID_CREDENTIAL',
      invalid,
    );
    const t = now();
    await rejectsWith(
      verifier().verify(await credential({ iat: t - 600, exp: t - CLOCK_TOLERANCE_SECONDS - 5 }), refund),
      'INVALID_CREDENTIAL',
      invalid,
    );
    // 5 s past exp is within the default 30 s tolerance, and outside a tolerance of 0.
    await verifier().verify(await credential({ iat: t - 600, exp: t - 5 }), refund);
    await rejectsWith(
      verifier({ clockTolerance: 0 }).verify(await credential({ iat: t - 600, exp: t - 5 }), refund),
      'INVALID_CREDENTIAL',
      invalid,
    );
    await rejectsWith(verifier().verify(await credential({ jti: undefined }), refund), 'INVALID_CREDENTIAL', invalid);
    await rejectsWith(verifier().verify(await credential({ tid: undefined }), refund), 'INVALID_CREDENTIAL', invalid);
    await rejectsWith(verifier().verify(await credential({ scope: undefined }), refund), 'INVALID_CREDENTIAL', invalid);
  });

  it('refuses a credential naming several audiences, even this backend among them', async () => {
    await rejectsWith(
      verifier().verify(await credential({ aud: [AUDIENCE, 'https://other.test'] }), refund),
      'INVALID_CREDENTIAL',
      'credential must name exactly this backend as its audience',
    );
  });

  it('refuses times out of bounds: issued in the future, or expiring before it was issued', async () => {
    const t = now();
    const message = 'credential times are out of bounds';
    await rejectsWith(
      verifier({ clockTolerance: 0 }).verify(await credential({ iat: t + 120, exp: t + 180 }), refund),
      'INVALID_CREDENTIAL',
      message,
    );
    await rejectsWith(
      verifier().verify(await credential({ iat: t + CLOCK_TOLERANCE_SECONDS + 5, exp: t + 180 }), refund),
      'INVALID_CREDENTIAL',
      message,
    );
    // Issued within the tolerance ahead of this clock: accepted.
    await verifier({ clockTolerance: 1_000 }).verify(await credential({ iat: t + 120, exp: t + 180 }), refund);
    await rejectsWith(verifier().verify(await credential({ iat: t, exp: t }), refund), 'INVALID_CREDENTIAL', message);
    await rejectsWith(
      verifier().verify(await credential({ iat: t + 10, exp: t + 5 }), refund),
      'INVALID_CREDENTIAL',
      message,
    );
  });

  it('refuses malformed claims', async () => {
    const message = 'credential claims are malformed';
    for (const claims of [{ jti: '' }, { tid: 7 }, { scope: ['POST /v1/refunds'] }, { sub: 5 }, { jti: 5 }])
      await rejectsWith(verifier().verify(await credential(claims as JWTPayload), refund), 'INVALID_CREDENTIAL', /./);
    await rejectsWith(verifier().verify(await credential({ jti: '' }), refund), 'INVALID_CREDENTIAL', message);
    await rejectsWith(verifier().verify(await credential({ tid: 7 }), refund), 'INVALID_CREDENTIAL', message);
    for (const act of ['agent-1', null, {}, { sub: 1 }])
      await rejectsWith(
        verifier().verify(await credential({ act } as JWTPayload), refund),
        'INVALID_CREDENTIAL',
        message,
      );
  });

  it('refuses a credential for another operation with SCOPE_MISMATCH (403)', async () => {
    const token = await credential();
    for (const operation of [
      { method: 'GET', path: '/v1/refunds' },
      { method: 'POST', path: '/v1/refunds/' },
      { method: 'POST', path: '/v1/Refunds' },
      { tool: 'refund' },
    ])
      await rejectsWith(
        verifier().verify(token, operation),
        'SCOPE_MISMATCH',
        'credential does not cover this operation',
        403,
      );
    const tool = await credential({ scope: 'tool:echo' });
    assert.equal((await verifier().verify(tool, { tool: 'echo' })).scope, 'tool:echo');
  });

  it('fails closed with VERIFIER_UNAVAILABLE (503) when the keys cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await rejectsWith(
      verifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` }).verify(await credential(), refund),
      'VERIFIER_UNAVAILABLE',
      'gateway keys cannot be fetched',
      503,
    );
  });
});

describe('introspection', () => {
  const introspection = { url: 'https://gateway.test/introspect', clientId: 'bill ing', clientSecret: 's:cret' };
  function answering(status: number, body: unknown) {
    const seen: { url: string; init: RequestInit }[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof globalThis.fetch;
    return { fetch, seen };
  }

  it('asks the gateway about the credential, authenticated as the client, and accepts an active one', async () => {
    const { fetch, seen } = answering(200, { active: true, jti: 'jti-1' });
    const token = await credential();
    await verifier({ introspection, fetch }).verify(token, refund);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, introspection.url);
    assert.equal(seen[0]!.init.method, 'POST');
    assert.deepEqual(seen[0]!.init.headers, {
      authorization: `Basic ${Buffer.from('bill%20ing:s%3Acret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    });
    assert.equal(seen[0]!.init.body, new URLSearchParams({ token, token_type_hint: 'access_token' }).toString());
    assert.ok(seen[0]!.init.signal instanceof AbortSignal);
    const { fetch: noJti } = answering(200, { active: true });
    await verifier({ introspection, fetch: noJti }).verify(token, refund);
  });

  it('refuses an inactive credential, an answer about another credential, or no answer object', async () => {
    for (const body of [{ active: false }, { active: 'true' }, { active: true, jti: 'other' }, null, 'active', {}]) {
      const { fetch } = answering(200, body);
      await rejectsWith(
        verifier({ introspection, fetch }).verify(await credential(), refund),
        'CREDENTIAL_INACTIVE',
        'credential is no longer active',
        401,
      );
    }
  });

  it('does not ask before the scope matches', async () => {
    const { fetch, seen } = answering(200, { active: true });
    await rejectsWith(
      verifier({ introspection, fetch }).verify(await credential(), { tool: 'x' }),
      'SCOPE_MISMATCH',
      /./,
    );
    assert.equal(seen.length, 0);
  });

  it('fails closed with VERIFIER_UNAVAILABLE when the gateway does not answer 200 or cannot be reached', async () => {
    for (const status of [401, 500, 204]) {
      const { fetch } = answering(status === 204 ? 200 : status, { active: true });
      const f =
        status === 204
          ? ((async () => new Response('not json', { status: 200 })) as unknown as typeof globalThis.fetch)
          : fetch;
      await rejectsWith(
        verifier({ introspection, fetch: f }).verify(await credential(), refund),
        'VERIFIER_UNAVAILABLE',
        'credential status cannot be checked',
        503,
      );
    }
    const down = (async () => Promise.reject(new TypeError('fetch failed'))) as unknown as typeof globalThis.fetch;
    await rejectsWith(
      verifier({ introspection, fetch: down }).verify(await credential(), refund),
      'VERIFIER_UNAVAILABLE',
      'credential status cannot be checked',
    );
  });

  it('bounds the question in time', async () => {
    const hanging = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) =>
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
      )) as unknown as typeof globalThis.fetch;
    const started = Date.now();
    await rejectsWith(
      verifier({ introspection: { ...introspection, timeoutMs: 50 }, fetch: hanging }).verify(
        await credential(),
        refund,
      ),
      'VERIFIER_UNAVAILABLE',
      /./,
    );
    assert.ok(Date.now() - started < 1_500);
  });
});

describe('helpers', () => {
  it('scopeFor names a method and path, or a tool', () => {
    assert.equal(scopeFor({ method: 'post', path: '/a/b' }), 'POST /a/b');
    assert.equal(scopeFor({ tool: 'echo' }), 'tool:echo');
    assert.match(scopeFor({ method: 'delete', path: '/x' }), SCOPE_PATTERN);
  });

  it('rawPath keeps the path as it arrived, without the query', () => {
    assert.equal(rawPath({ originalUrl: '/a%2Fb/c?x=1&y=2' } as Request), '/a%2Fb/c');
    assert.equal(rawPath({ originalUrl: '/a/b' } as Request), '/a/b');
    assert.equal(rawPath({ originalUrl: '/?' } as Request), '/');
  });

  it('maps each code to the status a backend answers with', () => {
    assert.equal(new CallVerificationError('INVALID_CREDENTIAL', 'x').status, 401);
    assert.equal(new CallVerificationError('CREDENTIAL_INACTIVE', 'x').status, 401);
    assert.equal(new CallVerificationError('SCOPE_MISMATCH', 'x').status, 403);
    assert.equal(new CallVerificationError('VERIFIER_UNAVAILABLE', 'x').status, 503);
    const cause = new Error('c');
    assert.equal(new CallVerificationError('SCOPE_MISMATCH', 'x', { cause }).cause, cause);
  });
});

describe('middleware', () => {
  interface Answer {
    status?: number;
    headers: Record<string, string>;
    body?: unknown;
    locals: Record<string, unknown>;
    next: boolean;
  }
  function call(
    authorization: string | undefined,
    options: Parameters<ReturnType<typeof verifier>['middleware']>[0] = {},
    v = verifier(),
    req: Partial<Request> = {},
  ): Promise<Answer> {
    return new Promise((resolve) => {
      const answer: Answer = { headers: {}, locals: {}, next: false };
      const res = {
        locals: answer.locals,
        setHeader: (name: string, value: string) => void (answer.headers[name] = value),
        status(code: number) {
          answer.status = code;
          return this;
        },
        json(body: unknown) {
          answer.body = body;
          resolve(answer);
        },
      } as unknown as Response;
      const request = {
        headers: authorization === undefined ? {} : { authorization },
        method: 'POST',
        originalUrl: '/v1/refunds?dry=1',
        ...req,
      } as unknown as Request;
      v.middleware(options)(request, res, () => {
        answer.next = true;
        resolve(answer);
      });
    });
  }

  it('passes a valid credential on with its claims, for the request method and raw path', async () => {
    const answer = await call(`Bearer ${await credential()}`);
    assert.equal(answer.next, true);
    assert.equal(answer.status, undefined);
    assert.equal((answer.locals['portcullis'] as { jti: string }).jti, 'jti-1');
    const spaced = await call(`  bearer   ${await credential()}  `);
    assert.equal(spaced.next, true);
  });

  it('uses the operation the backend names', async () => {
    const token = await credential({ scope: 'tool:echo' });
    const answer = await call(`Bearer ${token}`, { operation: () => ({ tool: 'echo' }) });
    assert.equal(answer.next, true);
  });

  it('answers 401 with a challenge when there is no bearer credential', async () => {
    for (const header of [undefined, 'Basic abc', 'Bearer', 'Bearer a b', 'Bearer a"b', 'xBearer abc']) {
      const answer = await call(header);
      assert.equal(answer.next, false, String(header));
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.headers, { 'WWW-Authenticate': 'Bearer' });
      assert.deepEqual(answer.body, { error: { code: 'INVALID_CREDENTIAL', message: 'missing bearer credential' } });
    }
  });

  it('takes base64 padding as part of the credential, not as a malformed header', async () => {
    const padded = await call('Bearer abc==');
    assert.equal(padded.status, 401);
    assert.deepEqual(padded.headers, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    assert.deepEqual(padded.body, { error: { code: 'INVALID_CREDENTIAL', message: 'credential is not a JWT' } });
  });

  it('answers 503 when the credential cannot be checked for another reason', async () => {
    const answer = await call(`Bearer ${await credential()}`, { operation: () => ({}) as CallOperation });
    assert.equal(answer.next, false);
    assert.equal(answer.status, 503);
    assert.deepEqual(answer.headers, {});
    assert.deepEqual(answer.body, {
      error: { code: 'VERIFIER_UNAVAILABLE', message: 'credential cannot be checked' },
    });
  });

  it('answers 401 invalid_token, 403 insufficient_scope and 503 with the code and message', async () => {
    const bad = await call('Bearer abc.def.ghi');
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.headers, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    assert.deepEqual(bad.body, { error: { code: 'INVALID_CREDENTIAL', message: 'credential is not a JWT' } });

    const other = await call(`Bearer ${await credential()}`, {}, verifier(), { method: 'GET' });
    assert.equal(other.status, 403);
    assert.deepEqual(other.headers, { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' });
    assert.deepEqual(other.body, {
      error: { code: 'SCOPE_MISMATCH', message: 'credential does not cover this operation' },
    });

    const down = (async () => Promise.reject(new Error('x'))) as unknown as typeof globalThis.fetch;
    const unavailable = await call(
      `Bearer ${await credential()}`,
      {},
      verifier({ introspection: { url: 'https://g.test/i', clientId: 'c', clientSecret: 's' }, fetch: down }),
    );
    assert.equal(unavailable.status, 503);
    assert.deepEqual(unavailable.headers, {});
    assert.deepEqual(unavailable.body, {
      error: { code: 'VERIFIER_UNAVAILABLE', message: 'credential status cannot be checked' },
    });
  });
});

describe('what a refusal carries', () => {
  it('keeps the underlying error as the cause where there is one, and adds none where there is not', async () => {
    await assert.rejects(verifier().verify('not-a-jwt', refund), (error: unknown) => {
      assert.ok(error instanceof CallVerificationError);
      assert.ok(error.cause instanceof Error, 'the decoding error is kept');
      return true;
    });
    await assert.rejects(verifier().verify(await credential({}, { typ: 'JWT' }), refund), (error: unknown) => {
      assert.ok(error instanceof CallVerificationError);
      assert.equal(error.message, 'not a call credential');
      assert.equal('cause' in error, false);
      return true;
    });
    await assert.rejects(verifier().verify(await credential({}, {}, otherKey), refund), (error: unknown) => {
      assert.ok(error instanceof CallVerificationError);
      assert.equal((error.cause as { code?: string }).code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      return true;
    });
    const fetch = (async () => new Response('{}', { status: 401 })) as unknown as typeof globalThis.fetch;
    await assert.rejects(
      verifier({ introspection: { url: 'https://g.test/i', clientId: 'c', clientSecret: 's' }, fetch }).verify(
        await credential(),
        refund,
      ),
      (error: unknown) => {
        assert.ok(error instanceof CallVerificationError);
        assert.equal(error.code, 'VERIFIER_UNAVAILABLE');
        assert.equal((error.cause as Error).message, 'introspection answered 401');
        return true;
      },
    );
  });

  it('treats an ambiguous key set or an algorithm jose cannot use with a key set as an invalid credential', async () => {
    const jwk = { ...(await exportJWK(await publicOf(privateKey))), kid: 'k1', alg: 'ES256', use: 'sig' };
    const twice = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk, { ...jwk }] }));
    });
    await new Promise<void>((resolve) => twice.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(twice.address() as AddressInfo).port}/jwks.json`;
      await assert.rejects(verifier({ jwksUrl: url }).verify(await credential(), refund), (error: unknown) => {
        assert.ok(error instanceof CallVerificationError);
        assert.equal(error.code, 'INVALID_CREDENTIAL');
        assert.equal((error.cause as { code?: string }).code, 'ERR_JWKS_MULTIPLE_MATCHING_KEYS');
        return true;
      });
    } finally {
      await new Promise<void>((resolve) => twice.close(() => resolve()));
    }
    // A backend misconfigured to accept HS256: jose refuses a shared-secret algorithm with a key set.
    const t = now();
    const hmac = await new SignJWT({ sub: 'a', tid: 't', scope: 'POST /v1/refunds', jti: 'j', iat: t, exp: t + 60 })
      .setProtectedHeader({ alg: 'HS256', typ: CALL_CREDENTIAL_TYP, kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(new Uint8Array(32).fill(7));
    await assert.rejects(verifier({ algorithms: ['HS256'] }).verify(hmac, refund), (error: unknown) => {
      assert.ok(error instanceof CallVerificationError);
      assert.equal(error.code, 'INVALID_CREDENTIAL');
      assert.equal((error.cause as { code?: string }).code, 'ERR_JOSE_NOT_SUPPORTED');
      return true;
    });
  });
});
