/**
 * The call verifier at its edges: a key set that cannot be read, introspection answers without a body, a
 * credential issued exactly at the clock tolerance, and required claims that are missing.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, mock } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { CALL_CREDENTIAL_TYP } from './claims.js';
import { CallVerificationError, createCallVerifier, type CallVerifierOptions } from './call-verifier.js';

const ISSUER = 'https://gateway.test';
const AUDIENCE = 'https://billing.test';
const refund = { method: 'POST', path: '/v1/refunds' };
let privateKey: CryptoKey;
/** What the key set endpoint answers: the key set, or a status and body chosen by the test. */
let answer: { status: number; body: string } | undefined;
let server: Server;
let jwksUrl: string;

before(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((_req, res) => {
    res.statusCode = answer?.status ?? 200;
    res.setHeader('content-type', 'application/json');
    res.end(answer?.body ?? JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const verifier = (options: Partial<CallVerifierOptions> = {}) =>
  createCallVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, ...options });

/** A call credential; claims set to undefined are left out. */
async function credential(claims: Record<string, unknown> = {}): Promise<string> {
  const t = Math.floor(Date.now() / 1000);
  const all = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'agent-1',
    tid: 'task-1',
    scope: 'POST /v1/refunds',
    iat: t,
    exp: t + 60,
    jti: 'jti-1',
    ...claims,
  };
  return new SignJWT(Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)))
    .setProtectedHeader({ alg: 'ES256', typ: CALL_CREDENTIAL_TYP, kid: 'k1' })
    .sign(privateKey);
}

function refusal(code: string, message: string) {
  return (error: unknown) => {
    assert.ok(error instanceof CallVerificationError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  };
}

describe('call verifier: a key set that cannot be read', () => {
  it('answers VERIFIER_UNAVAILABLE, with jose’s error as the cause, for an error status or a malformed set', async () => {
    const token = await credential();
    try {
      for (const [status, body, code] of [
        [500, '{}', 'ERR_JOSE_GENERIC'],
        [200, '{"keys": "none"}', 'ERR_JWKS_INVALID'],
      ] as const) {
        answer = { status, body };
        await assert.rejects(verifier().verify(token, refund), (error: unknown) => {
          refusal('VERIFIER_UNAVAILABLE', 'gateway keys cannot be fetched')(error);
          assert.equal(((error as Error).cause as { code?: string }).code, code);
          return true;
        });
      }
    } finally {
      answer = undefined;
    }
    assert.equal((await verifier().verify(token, refund)).jti, 'jti-1');
  });
});

describe('call verifier: required claims', () => {
  it('refuses a credential without a subject, an issue time or an expiry as invalid', async () => {
    for (const claim of ['sub', 'iat', 'exp'])
      await assert.rejects(
        verifier().verify(await credential({ [claim]: undefined }), refund),
        refusal('INVALID_CREDENTIAL', 'credential is invalid or expired'),
        claim,
      );
  });
});

describe('call verifier: the clock tolerance on the issue time', () => {
  it('accepts a credential issued exactly the tolerance ahead, and refuses one a second later', async () => {
    const t = 1_800_000_000;
    mock.timers.enable({ apis: ['Date'], now: t * 1000 });
    try {
      const edge = await credential({ iat: t + 30, exp: t + 90 });
      assert.equal((await verifier().verify(edge, refund)).iat, t + 30);
      await assert.rejects(
        verifier().verify(await credential({ iat: t + 31, exp: t + 90 }), refund),
        refusal('INVALID_CREDENTIAL', 'credential times are out of bounds'),
      );
    } finally {
      mock.timers.reset();
    }
  });
});

describe('call verifier: introspection answers that are not 200', () => {
  const introspection = { url: 'https://gateway.test/introspect', clientId: 'c', clientSecret: 's' };

  it('names the status in the cause, with or without a body, and releases the body', async () => {
    const token = await credential();
    const empty = (async () => new Response(null, { status: 500 })) as unknown as typeof fetch;
    await assert.rejects(verifier({ introspection, fetch: empty }).verify(token, refund), (error: unknown) => {
      refusal('VERIFIER_UNAVAILABLE', 'credential status cannot be checked')(error);
      assert.equal(((error as Error).cause as Error).message, 'introspection answered 500');
      return true;
    });
    let cancelled = false;
    const streaming = (async () =>
      new Response(
        new ReadableStream({
          pull: (controller) => controller.enqueue(new TextEncoder().encode('x')),
          cancel: () => void (cancelled = true),
        }),
        { status: 503 },
      )) as unknown as typeof fetch;
    await assert.rejects(
      verifier({ introspection, fetch: streaming }).verify(token, refund),
      refusal('VERIFIER_UNAVAILABLE', 'credential status cannot be checked'),
    );
    assert.equal(cancelled, true);
  });
});
