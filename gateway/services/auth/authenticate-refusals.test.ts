/**
 * Each refusal of the request authenticator, pinned to its own check: the code, the message the agent sees
 * and the RFC 6750 error value of the challenge. Every check leads to UNAUTHENTICATED, so asserting the code
 * alone would let any one check go missing while a later one still refuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Authenticator, AuthRequest } from '../../kernel/index.js';
import { AuthError } from '../../kernel/principal.js';
import { createApiKeyAuthenticator, digestApiKey, generateApiKey } from './api-key-authenticator.js';
import { createRequestAuthenticator, extractBearer } from './authenticate.js';
import { credentialForScheme } from './authorization-header.js';

const key = generateApiKey();
const agents = createApiKeyAuthenticator([{ agentId: 'a1', roles: ['r'], keyDigests: [digestApiKey(key)] }]);
const request = (headers: AuthRequest['headers'], url = '/mcp', rawHeaders?: string[]): AuthRequest => ({
  headers,
  url,
  ...(rawHeaders !== undefined ? { rawHeaders } : {}),
});

async function refused(
  promise: Promise<unknown>,
  code: string,
  message: string,
  bearerError: string | undefined,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError);
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    assert.equal(error.bearerError, bearerError);
    return true;
  });
}

describe('request authenticator refusals', () => {
  const authenticator = createRequestAuthenticator({ authenticators: [agents] });

  it('refuses credentials in the query string, whatever their name and place', async () => {
    for (const url of [
      `/mcp?access_token=${key}`,
      `/mcp?token=${key}`,
      `/mcp?x=1&api_key=${key}`,
      `/mcp?APIKEY=${key}`,
      `/mcp?key=${key}`,
    ])
      await refused(
        authenticator.authenticate(request({ authorization: `Bearer ${key}` }, url)),
        'UNAUTHENTICATED',
        'credentials in the query string are not accepted',
        'invalid_request',
      );
    const ok = await authenticator.authenticate(request({ authorization: `Bearer ${key}` }, '/mcp?monkey=1&tokens=2'));
    assert.equal(ok.agentId, 'a1');
  });

  it('refuses an unknown credential as invalid_token', async () => {
    await refused(
      authenticator.authenticate(request({ authorization: 'Bearer pc_unknown' })),
      'UNAUTHENTICATED',
      'invalid credentials',
      'invalid_token',
    );
  });

  it('refuses a disabled agent, and asks only about the agent the credential names', async () => {
    const asked: string[] = [];
    const withKillSwitch = createRequestAuthenticator({
      authenticators: [agents],
      isAgentDisabled: async (id) => {
        asked.push(id);
        return id === 'a1';
      },
    });
    await refused(
      withKillSwitch.authenticate(request({ authorization: `Bearer ${key}` })),
      'FORBIDDEN',
      'agent is disabled',
      'invalid_token',
    );
    assert.deepEqual(asked, ['a1']);
    const none = createRequestAuthenticator({ authenticators: [agents] });
    assert.equal((await none.authenticate(request({ authorization: `Bearer ${key}` }))).agentId, 'a1');
  });

  it('tries authenticators in order; the first that recognises the credential decides', async () => {
    const seen: string[] = [];
    const first: Authenticator = {
      method: 'oauth',
      authenticate: async (bearer) => {
        seen.push(`first ${bearer}`);
        return undefined;
      },
    };
    const chain = createRequestAuthenticator({ authenticators: [first, agents] });
    assert.equal((await chain.authenticate(request({ authorization: `Bearer ${key}` }))).agentId, 'a1');
    assert.deepEqual(seen, [`first ${key}`]);
  });
});

describe('extractBearer', () => {
  it('reads exactly one Authorization header, counted on the raw headers', () => {
    assert.equal(extractBearer({ authorization: `Bearer ${key}` }, ['Authorization', `Bearer ${key}`]), key);
    assert.equal(
      extractBearer({ authorization: `Bearer ${key}` }, [
        'Host',
        'x',
        'AUTHORIZATION',
        `Bearer ${key}`,
        'Accept',
        '*/*',
      ]),
      key,
    );
    assert.equal(extractBearer({ authorization: `Bearer ${key}` }, ['Host']), key);
    assert.throws(
      () =>
        extractBearer({ authorization: `Bearer ${key}` }, ['authorization', 'Bearer a', 'Authorization', 'Bearer b']),
      { code: 'UNAUTHENTICATED', message: 'more than one Authorization header', bearerError: 'invalid_request' },
    );
  });

  it('refuses a comma-joined or repeated value as more than one header', () => {
    for (const value of [`Bearer ${key}, Bearer other`, ['Bearer a', 'Bearer b']])
      assert.throws(() => extractBearer({ authorization: value as string }), {
        code: 'UNAUTHENTICATED',
        message: 'more than one Authorization header',
        bearerError: 'invalid_request',
      });
  });

  it('says when the header is missing, and when it is not a bearer credential', () => {
    assert.throws(
      () => extractBearer({}),
      (error: unknown) => {
        assert.ok(error instanceof AuthError);
        assert.equal(error.message, 'missing bearer token');
        assert.equal(error.bearerError, undefined);
        return true;
      },
    );
    for (const value of [`Basic ${key}`, 'Bearer', `Bearer ${key} extra`, ` ${key}`])
      assert.throws(() => extractBearer({ authorization: value }), {
        code: 'UNAUTHENTICATED',
        message: 'expected Authorization: Bearer <token>',
        bearerError: 'invalid_request',
      });
  });
});

describe('credentialForScheme', () => {
  it('needs a scheme before the first space', () => {
    assert.equal(credentialForScheme(' Bearer abc', 'Bearer'), 'abc');
    assert.equal(credentialForScheme('Bearer  abc', 'bearer'), 'abc');
    assert.equal(credentialForScheme('abc', 'Bearer'), undefined);
    assert.equal(credentialForScheme('Bearerx', 'Bearer'), undefined);
    assert.equal(credentialForScheme(' abc', ''), undefined);
    assert.equal(credentialForScheme('x abc', ''), undefined);
  });
});
