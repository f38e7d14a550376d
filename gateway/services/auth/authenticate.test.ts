import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApiKeyAuthenticator, digestApiKey, generateApiKey } from './api-key-authenticator.js';
import { createRequestAuthenticator, extractBearer } from './authenticate.js';
import { AuthError } from '../../kernel/principal.js';

const key = generateApiKey();
const authenticator = createRequestAuthenticator({
  authenticators: [
    createApiKeyAuthenticator([{ agentId: 'a1', roles: ['r'], tenant: 't', keyDigests: [digestApiKey(key)] }]),
  ],
  isAgentDisabled: (id) => id === 'disabled',
});

const request = (headers: Record<string, string | string[]>, url = '/mcp', rawHeaders?: string[]) => ({
  headers,
  url,
  ...(rawHeaders ? { rawHeaders } : {}),
});

describe('request authentication', () => {
  it('accepts a valid API key and returns the agent principal', async () => {
    const principal = await authenticator.authenticate(request({ authorization: `Bearer ${key}` }));
    assert.equal(principal.agentId, 'a1');
    assert.equal(principal.tenant, 't');
    assert.equal(principal.authMethod, 'api-key');
  });

  for (const [name, headers, url, raw] of [
    ['no credential', {}, '/mcp', undefined],
    ['an unknown key', { authorization: 'Bearer pc_wrong' }, '/mcp', undefined],
    ['a non-bearer scheme', { authorization: `Basic ${key}` }, '/mcp', undefined],
    ['the key in the query string', { authorization: `Bearer ${key}` }, `/mcp?access_token=${key}`, undefined],
    [
      'two Authorization headers',
      { authorization: `Bearer ${key}` },
      '/mcp',
      ['Authorization', `Bearer ${key}`, 'authorization', 'Bearer other'],
    ],
    ['a comma-joined Authorization value', { authorization: `Bearer ${key}, Bearer other` }, '/mcp', undefined],
  ] as const) {
    it(`rejects ${name}`, async () => {
      await assert.rejects(
        authenticator.authenticate(request(headers as Record<string, string>, url, raw as string[] | undefined)),
        (error: unknown) => {
          assert.ok(error instanceof AuthError);
          assert.equal(error.code, 'UNAUTHENTICATED');
          assert.ok(!error.message.includes(key), 'the error never echoes the credential');
          return true;
        },
      );
    });
  }

  it('refuses a disabled agent even with a valid key', async () => {
    const withDisabled = createRequestAuthenticator({
      authenticators: [
        createApiKeyAuthenticator([{ agentId: 'disabled', roles: [], keyDigests: [digestApiKey(key)] }]),
      ],
      isAgentDisabled: (id) => id === 'disabled',
    });
    await assert.rejects(withDisabled.authenticate(request({ authorization: `Bearer ${key}` })), { code: 'FORBIDDEN' });
  });

  it('extracts exactly one bearer token', () => {
    assert.equal(extractBearer({ authorization: 'Bearer abc.def-1' }), 'abc.def-1');
  });
});
