/**
 * Auth schemes are case-insensitive (RFC 9110 section 11.1): `bearer`, `BEARER` and `Bearer` are one
 * scheme wherever the gateway reads a credential: agents on /mcp and the tasks API, operators on the
 * operator API. A wrong credential is still refused whatever the case of its scheme.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';

const SCHEMES = ['bearer', 'BEARER', 'bEaReR', 'Bearer'];

describe('auth scheme letter case', () => {
  let gw: TestGateway;
  let agentKey = '';
  const operatorToken = generateApiKey();

  before(async () => {
    gw = await startTestGateway(
      { operators: [{ id: 'ops', roles: ['viewer'], tokens: [{ sha256: digestApiKey(operatorToken) }] }] },
      [{ id: 'agent' }],
    );
    agentKey = gw.agents['agent']!.key;
  });
  after(async () => {
    await gw?.close();
  });

  it('agents: /mcp accepts the scheme in any case', async () => {
    for (const scheme of SCHEMES) {
      const response = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `${scheme} ${agentKey}` });
      assert.equal(response.status, 200, scheme);
      assert.ok(response.headers.get('mcp-session-id'), scheme);
      await response.body?.cancel();
    }
    const wrong = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `bearer ${generateApiKey()}` });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
  });

  it('agents: the tasks API accepts the scheme in any case', async () => {
    for (const scheme of SCHEMES) {
      const response = await fetch(`${gw.gateway.baseUrl}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `${scheme} ${agentKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ intent: 'check the scheme' }),
      });
      assert.equal(response.status, 201, scheme);
      const { token } = (await response.json()) as { token: string };
      // The task token it returns is read the same way.
      const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `${scheme.toUpperCase()} ${token}` });
      assert.equal(init.status, 200, scheme);
      await init.body?.cancel();
    }
  });

  it('operators: the operator API accepts the scheme in any case', async () => {
    for (const scheme of SCHEMES) {
      const response = await fetch(`${gw.gateway.baseUrl}/v1/approvals`, {
        headers: { authorization: `${scheme} ${operatorToken}` },
      });
      assert.equal(response.status, 200, scheme);
      assert.ok(Array.isArray(((await response.json()) as { approvals?: unknown }).approvals));
    }
    const wrong = await fetch(`${gw.gateway.baseUrl}/v1/approvals`, {
      headers: { authorization: `bearer ${agentKey}` },
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
  });
});
