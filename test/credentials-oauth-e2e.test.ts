/**
 * The gateway as an OAuth 2.1 resource server (MCP authorization): bearer JWTs from a real identity provider
 * on port 0, protected-resource metadata, challenges with `resource_metadata`, 403 `insufficient_scope`.
 * And live revocation: a backend that introspects call credentials (RFC 7662) stops accepting one as soon as
 * an operator revokes its jti.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { createCallVerifier } from '../gateway/verify/index.js';
import { startIdp, type Idp } from './fixtures/idp.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';

describe('OAuth resource server and live revocation', () => {
  let idp: Idp;
  let gw: TestGateway;
  let backend: Server;
  let backendUrl: string;
  const received: { authorization?: string; status?: number }[] = [];
  let verifier: ReturnType<typeof createCallVerifier> | undefined;
  const adminToken = generateApiKey();
  const introspectionSecret = generateApiKey();

  before(async () => {
    idp = await startIdp();
    const app = express();
    app.use((req, res, next) => {
      const entry: { authorization?: string; status?: number } = {
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      };
      received.push(entry);
      res.on('finish', () => (entry.status = res.statusCode));
      verifier!.middleware()(req, res, next);
    });
    app.get('/orders/:id', (req, res) => void res.json({ id: req.params.id }));
    backend = createServer(app);
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    gw = await startTestGateway(
      {
        http: { publicUrl: 'http://portcullis.test' },
        auth: {
          oauth: {
            issuer: idp.issuer,
            jwksUrl: idp.jwksUrl,
            audience: 'http://portcullis.test/mcp',
            algorithms: ['RS256'],
            typ: 'at+jwt',
            requiredScopes: ['mcp:tools'],
          },
          introspectionClients: [{ id: 'orders-backend', secret: { sha256: digestApiKey(introspectionSecret) } }],
        },
        connectors: [
          {
            id: 'orders',
            kind: 'http',
            baseUrl: backendUrl,
            tools: [
              {
                name: 'get_order',
                method: 'GET',
                path: '/orders/{id}',
                inputSchema: {
                  type: 'object',
                  properties: { id: { type: 'string', pattern: '^[0-9]+$' } },
                  required: ['id'],
                  additionalProperties: false,
                },
              },
            ],
          },
        ],
        backendCredentials: { orders: { type: 'jwt', audience: 'https://orders.internal' } },
        egress: {
          connectors: { orders: { allowPrivate: ['127.0.0.1/32'] } },
          // The IdP runs on loopback: its JWKS is one of the gateway's own destinations, named here.
          gateway: { oauthJwks: { allowPrivate: ['loopback'] } },
        },
        operators: [{ id: 'admin', roles: ['admin'], tokens: [{ sha256: digestApiKey(adminToken) }] }],
      },
      [{ id: 'oauth-agent', tools: ['orders_*'] }],
    );
    verifier = createCallVerifier({
      jwksUrl: `${gw.gateway.baseUrl}/.well-known/jwks.json`,
      issuer: 'http://portcullis.test',
      audience: 'https://orders.internal',
      introspection: {
        url: `${gw.gateway.baseUrl}/oauth/introspect`,
        clientId: 'orders-backend',
        clientSecret: introspectionSecret,
      },
    });
  });
  after(async () => {
    await gw?.close();
    await idp?.close();
    await new Promise((resolve) => backend?.close(resolve));
  });

  const token = (claims: Record<string, unknown>) =>
    idp.mint({ claims: { sub: 'oauth-agent', aud: 'http://portcullis.test/mcp', scope: 'mcp:tools', ...claims } });

  it('publishes protected-resource metadata and points to it in challenges', async () => {
    const challenge = await rawPost(gw.gateway.mcpUrl, INITIALIZE);
    assert.equal(challenge.status, 401);
    const header = challenge.headers.get('www-authenticate') ?? '';
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(header)?.[1];
    assert.ok(metadataUrl, header);
    const metadata = (await (await fetch(`${gw.gateway.baseUrl}${new URL(metadataUrl).pathname}`)).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    assert.equal(metadata.resource, 'http://portcullis.test/mcp');
    assert.deepEqual(metadata.authorization_servers, [idp.issuer]);
  });

  /** A 2026-07-28 `tools/call` of the orders tool, which reaches the backend when the gateway serves it. */
  const callOrder = (bearer: string) =>
    rawPost(
      gw.gateway.mcpUrl,
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name: 'orders_get_order',
          arguments: { id: '42' },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      },
      {
        authorization: `Bearer ${bearer}`,
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'orders_get_order',
      },
    );

  it('accepts a valid IdP token for this resource', async () => {
    const response = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${await token({})}` });
    assert.equal(response.status, 200);
    await response.body?.cancel();
  });

  it('rejects another audience, an unpublished key, another token type, and answers 403 insufficient_scope for missing scopes', async () => {
    const wrongAudience = await rawPost(gw.gateway.mcpUrl, INITIALIZE, {
      authorization: `Bearer ${await token({ aud: 'http://elsewhere/mcp' })}`,
    });
    assert.equal(wrongAudience.status, 401);
    const forged = await rawPost(gw.gateway.mcpUrl, INITIALIZE, {
      authorization: `Bearer ${await idp.mint({ claims: { sub: 'oauth-agent', aud: 'http://portcullis.test/mcp', scope: 'mcp:tools' }, unpublishedKey: true })}`,
    });
    assert.equal(forged.status, 401);
    // `auth.oauth.typ`: the IdP's access tokens say `at+jwt`; a token of another type is not one.
    const otherType = await rawPost(gw.gateway.mcpUrl, INITIALIZE, {
      authorization: `Bearer ${await idp.mint({ claims: { sub: 'oauth-agent', aud: 'http://portcullis.test/mcp', scope: 'mcp:tools' }, header: { typ: 'JWT' } })}`,
    });
    assert.equal(otherType.status, 401);
    const noScope = await rawPost(gw.gateway.mcpUrl, INITIALIZE, {
      authorization: `Bearer ${await token({ scope: 'profile' })}`,
    });
    assert.equal(noScope.status, 403);
    assert.match(noScope.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    // The same refusals for a call of the backend's tool, and nothing reaches the backend; a good token's
    // call does.
    const before = received.length;
    const refused = [
      await token({ aud: 'http://elsewhere/mcp' }),
      await idp.mint({
        claims: { sub: 'oauth-agent', aud: 'http://portcullis.test/mcp', scope: 'mcp:tools' },
        unpublishedKey: true,
      }),
      await idp.mint({
        claims: { sub: 'oauth-agent', aud: 'http://portcullis.test/mcp', scope: 'mcp:tools' },
        header: { typ: 'JWT' },
      }),
    ];
    for (const bearer of refused) {
      const answer = await callOrder(bearer);
      assert.equal(answer.status, 401);
      await answer.body?.cancel();
    }
    assert.equal(received.length, before, 'no refused call reached the backend');
    const served = await callOrder(await token({}));
    assert.equal(served.status, 200, await served.clone().text());
    const result = await served.text();
    assert.match(result, /"result"/, result);
    assert.doesNotMatch(result, /"isError":\s*true/, result);
    assert.equal(received.length, before + 1, "the good token's call reached the backend once");
  });

  it('a revoked call credential is refused by an introspecting backend on its next use', async () => {
    const client = await gw.connect(await token({}));
    const ok = await client.callTool({ name: 'orders_get_order', arguments: { id: '42' } });
    assert.notEqual(ok.isError, true, JSON.stringify(ok));
    const credential = received.at(-1)!.authorization!;
    const jti = JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString('utf8')).jti as string;
    const revoked = await fetch(`${gw.gateway.baseUrl}/v1/credentials/${jti}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'leaked in a log' }),
    });
    assert.equal(revoked.status, 200);
    const replay = await fetch(`${backendUrl}/orders/42`, { headers: { authorization: credential } });
    assert.equal(replay.status, 401, 'the backend refuses the revoked credential');
    const again = await client.callTool({ name: 'orders_get_order', arguments: { id: '42' } });
    assert.notEqual(again.isError, true, 'the gateway mints a fresh credential for the next call');
    assert.notEqual(received.at(-1)!.authorization, credential);
  });
});
