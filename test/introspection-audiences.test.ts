/**
 * Token introspection (RFC 7662) with two backends: each backend's introspection client is limited to its
 * own audience, so it learns nothing about call credentials minted for the other backend. Client
 * authentication accepts the `Basic` scheme in any letter case.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const echoTool = {
  name: 'echo',
  method: 'GET',
  path: '/echo',
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
};

describe('introspection clients limited to their audiences', () => {
  let alpha: HttpBackend;
  let beta: HttpBackend;
  let gw: TestGateway;
  const alphaSecret = generateApiKey();
  const betaSecret = generateApiKey();
  const auditorSecret = generateApiKey();
  let alphaCredential = '';
  let betaCredential = '';

  before(async () => {
    alpha = await startHttpBackend();
    beta = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectors: [
          { id: 'alpha', kind: 'http', baseUrl: alpha.url, tools: [echoTool] },
          { id: 'beta', kind: 'http', baseUrl: beta.url, tools: [echoTool] },
        ],
        backendCredentials: {
          alpha: { type: 'jwt', audience: 'https://alpha.internal' },
          beta: { type: 'jwt', audience: 'https://beta.internal' },
        },
        auth: {
          introspectionClients: [
            {
              id: 'alpha-backend',
              secret: { sha256: digestApiKey(alphaSecret) },
              audiences: ['https://alpha.internal'],
            },
            { id: 'beta-backend', secret: { sha256: digestApiKey(betaSecret) }, audiences: ['https://beta.internal'] },
            {
              id: 'auditor',
              secret: { sha256: digestApiKey(auditorSecret) },
              audiences: ['https://alpha.internal', 'https://beta.internal'],
            },
          ],
        },
        egress: { connectors: { alpha: { allowPrivate: ['127.0.0.1/32'] }, beta: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'agent', tools: ['alpha_*', 'beta_*'] }],
    );
    const client = await gw.connect('agent');
    for (const name of ['alpha_echo', 'beta_echo']) {
      const result = await client.callTool({ name, arguments: {} });
      assert.notEqual(result.isError, true, JSON.stringify(result));
    }
    alphaCredential = String(alpha.requests.at(-1)?.headers.authorization).replace(/^Bearer /, '');
    betaCredential = String(beta.requests.at(-1)?.headers.authorization).replace(/^Bearer /, '');
    assert.match(alphaCredential, /^eyJ/);
    assert.match(betaCredential, /^eyJ/);
  });
  after(async () => {
    await gw?.close();
    await alpha?.close();
    await beta?.close();
  });

  async function introspect(
    clientId: string,
    secret: string,
    token: string,
    scheme = 'Basic',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const basic = Buffer.from(`${clientId}:${secret}`).toString('base64');
    const response = await fetch(`${gw.gateway.baseUrl}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: `${scheme} ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("answers each backend about its own audience's credentials", async () => {
    const own = await introspect('alpha-backend', alphaSecret, alphaCredential);
    assert.equal(own.status, 200);
    assert.equal(own.body['active'], true);
    assert.equal(own.body['aud'], 'https://alpha.internal');
    const otherOwn = await introspect('beta-backend', betaSecret, betaCredential);
    assert.equal(otherOwn.body['active'], true);
    assert.equal(otherOwn.body['aud'], 'https://beta.internal');
  });

  it("answers exactly { active: false } about another backend's credential", async () => {
    const crossed = await introspect('beta-backend', betaSecret, alphaCredential);
    assert.equal(crossed.status, 200);
    assert.deepEqual(crossed.body, { active: false });
    const crossedBack = await introspect('alpha-backend', alphaSecret, betaCredential);
    assert.deepEqual(crossedBack.body, { active: false });
  });

  it('a client listing several audiences is answered about each of them', async () => {
    assert.equal((await introspect('auditor', auditorSecret, alphaCredential)).body['active'], true);
    assert.equal((await introspect('auditor', auditorSecret, betaCredential)).body['active'], true);
  });

  it('accepts the Basic scheme in any letter case and still refuses a wrong secret', async () => {
    for (const scheme of ['basic', 'BASIC', 'bAsIc']) {
      const answer = await introspect('alpha-backend', alphaSecret, alphaCredential, scheme);
      assert.equal(answer.status, 200, scheme);
      assert.equal(answer.body['active'], true, scheme);
    }
    const wrong = await introspect('alpha-backend', betaSecret, alphaCredential, 'basic');
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { error: 'invalid_client' });
  });
});
