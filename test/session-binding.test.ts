/**
 * An MCP session is bound to the exact principal that opened it: kind of credential, agent, task (explicit
 * or implicit), tenant, and issuer + subject. Any other credential presenting the session id is answered
 * exactly like an unknown session id, on POST, on the GET stream and on DELETE, and nothing reaches the
 * backend. Every pairing below differs from the opener in one part of the binding (or a few), so weakening
 * any part of the comparison lets one of them through.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { startHttpBackend, type HttpBackend } from './fixtures/http-backend.js';
import { startIdp, type Idp } from './fixtures/idp.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { writePolicy } from './helpers/policy.js';

const echoTool = {
  name: 'echo',
  method: 'GET',
  path: '/echo',
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
};
const SPIFFE_AUDIENCE = 'https://portcullis.test/mcp';
const SPIFFE_A = 'spiffe://prod.example/ns/agents/sa/bot-a';
const SPIFFE_B = 'spiffe://prod.example/ns/agents/sa/bot-b';
const PROTOCOL = '2025-06-18';

/** How an agent authenticates in one pairing: a fresh credential of that kind each time it is asked. */
type CredentialSource = () => Promise<string>;

describe('MCP sessions are bound to the exact principal', () => {
  let backend: HttpBackend;
  let idp: Idp;
  let gw: TestGateway;
  let dir: string;
  let svidKey: CryptoKey;
  const sources: Record<string, CredentialSource> = {};

  before(async () => {
    backend = await startHttpBackend();
    idp = await startIdp();
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-binding-'));
    const pair = await generateKeyPair('ES256', { extractable: true });
    svidKey = pair.privateKey;
    const bundle = path.join(dir, 'bundle.json');
    await writeFile(bundle, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'svid-1' }] }));
    gw = await startTestGateway(
      {
        http: { responseMode: 'json' },
        auth: {
          oauth: {
            issuer: idp.issuer,
            jwksUrl: idp.jwksUrl,
            audience: 'https://portcullis.test/mcp',
            algorithms: ['RS256'],
            agentIdClaim: 'agent_id',
            tenantClaim: 'tenant',
          },
          spiffe: { trustBundle: bundle, audience: SPIFFE_AUDIENCE, agents: { [SPIFFE_A]: 'bot', [SPIFFE_B]: 'bot' } },
        },
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [echoTool] }],
        egress: {
          connectors: { api: { allowPrivate: ['127.0.0.1/32'] } },
          // The IdP runs on loopback: its JWKS is one of the gateway's own destinations, named here.
          gateway: { oauthJwks: { allowPrivate: ['loopback'] } },
        },
      },
      [
        { id: 'bot', tools: ['api_*'], tenant: 'acme' },
        { id: 'other', tools: ['api_*'], tenant: 'acme' },
      ],
    );
    const taskToken = async (agent: string): Promise<string> => {
      const response = await fetch(`${gw.gateway.baseUrl}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.agents[agent]!.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ intent: 'binding test', ttlSeconds: 600 }),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { token: string }).token;
    };
    const taskA = await taskToken('bot');
    const taskB = await taskToken('bot');
    const oauth = (sub: string, tenant: string) => () =>
      idp.mint({ claims: { sub, agent_id: 'bot', tenant, aud: 'https://portcullis.test/mcp', jti: randomUUID() } });
    const svid = (sub: string) => async () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub, aud: [SPIFFE_AUDIENCE], iat: now, exp: now + 300 })
        .setProtectedHeader({ alg: 'ES256', kid: 'svid-1', typ: 'JWT' })
        .sign(svidKey);
    };
    Object.assign(sources, {
      'API key': async () => gw.agents['bot']!.key,
      "another agent's API key": async () => gw.agents['other']!.key,
      'task token (task A)': async () => taskA,
      'task token (task B) of the same agent': async () => taskB,
      'OAuth (alice)': oauth('alice', 'acme'),
      'OAuth (bob) for the same agent': oauth('bob', 'acme'),
      'OAuth (alice) in another tenant': oauth('alice', 'globex'),
      'SPIFFE (bot-a)': svid(SPIFFE_A),
      'SPIFFE (bot-b) for the same agent': svid(SPIFFE_B),
    } satisfies Record<string, CredentialSource>);
  });
  after(async () => {
    await gw?.close();
    await idp?.close();
    await backend?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const headersFor = (credential: string, sessionId: string) => ({
    authorization: `Bearer ${credential}`,
    'mcp-session-id': sessionId,
    'mcp-protocol-version': PROTOCOL,
  });
  const callBody = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'api_echo', arguments: {} } };

  async function openSession(credential: string): Promise<string> {
    const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${credential}` });
    assert.equal(init.status, 200, await init.clone().text());
    await init.body?.cancel();
    const sessionId = init.headers.get('mcp-session-id');
    assert.ok(sessionId);
    const initialized = await rawPost(
      gw.gateway.mcpUrl,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      headersFor(credential, sessionId),
    );
    assert.equal(initialized.status, 202);
    return sessionId;
  }

  interface Answer {
    status: number;
    contentType: string | null;
    body: string;
  }
  const answer = async (response: Response): Promise<Answer> => ({
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: await response.text(),
  });

  /** POST a tool call, open the GET stream and DELETE, with `credential` on `sessionId`. */
  async function attempts(credential: string, sessionId: string): Promise<Record<'post' | 'get' | 'delete', Answer>> {
    const headers = headersFor(credential, sessionId);
    return {
      post: await answer(await rawPost(gw.gateway.mcpUrl, callBody, headers)),
      get: await answer(
        await fetch(gw.gateway.mcpUrl, {
          headers: { ...headers, accept: 'text/event-stream' },
          signal: AbortSignal.timeout(5000),
        }),
      ),
      delete: await answer(await fetch(gw.gateway.mcpUrl, { method: 'DELETE', headers })),
    };
  }

  async function assertOwnerStillServed(credential: string, sessionId: string): Promise<void> {
    const mark = backend.requests.length;
    const call = await rawPost(gw.gateway.mcpUrl, callBody, headersFor(credential, sessionId));
    assert.equal(call.status, 200);
    assert.match(await call.text(), /"id":7/);
    assert.equal(backend.requests.length, mark + 1, 'the owner of the session still reaches the backend');
  }

  const PAIRINGS: [opener: string, intruder: string][] = [
    ['API key', 'task token (task A)'],
    ['API key', "another agent's API key"],
    ['API key', 'OAuth (alice)'],
    ['API key', 'SPIFFE (bot-a)'],
    ['task token (task A)', 'API key'],
    ['task token (task A)', 'task token (task B) of the same agent'],
    ['task token (task A)', 'OAuth (alice)'],
    ['OAuth (alice)', 'API key'],
    ['OAuth (alice)', 'task token (task A)'],
    ['OAuth (alice)', 'OAuth (bob) for the same agent'],
    ['OAuth (alice)', 'OAuth (alice) in another tenant'],
    ['OAuth (alice)', 'SPIFFE (bot-a)'],
    ['SPIFFE (bot-a)', 'API key'],
    ['SPIFFE (bot-a)', 'SPIFFE (bot-b) for the same agent'],
    ['SPIFFE (bot-a)', 'OAuth (alice)'],
  ];

  for (const [opener, intruder] of PAIRINGS) {
    it(`a session opened with ${opener} does not exist for ${intruder} (POST, GET, DELETE)`, async () => {
      const ownerCredential = await sources[opener]!();
      const sessionId = await openSession(ownerCredential);
      const intruderCredential = await sources[intruder]!();
      const mark = backend.requests.length;

      const unknown = await attempts(intruderCredential, randomUUID());
      const hijack = await attempts(intruderCredential, sessionId);
      for (const method of ['post', 'get', 'delete'] as const) {
        assert.equal(hijack[method].status, 404, `${method}: ${hijack[method].body}`);
        assert.deepEqual(hijack[method], unknown[method], `${method} is answered exactly like an unknown session`);
      }
      assert.equal(backend.requests.length, mark, 'nothing reached the backend');
      // The refused DELETE did not end the session: its owner still gets through.
      await assertOwnerStillServed(await sources[opener]!(), sessionId);
    });
  }

  for (const opener of ['API key', 'task token (task A)', 'OAuth (alice)', 'SPIFFE (bot-a)']) {
    it(`a fresh credential for the same principal (${opener}) is served on the session`, async () => {
      const sessionId = await openSession(await sources[opener]!());
      await assertOwnerStillServed(await sources[opener]!(), sessionId);
    });
  }
});

describe('a session follows the current credential of its principal', () => {
  let backend: HttpBackend;
  let idp: Idp;
  let gw: TestGateway;

  before(async () => {
    backend = await startHttpBackend();
    idp = await startIdp();
    const policyFile = await writePolicy({
      version: 1,
      name: 'readers',
      rules: [{ id: 'readers-may-echo', effect: 'allow', tools: ['api_echo'], principal: { roles: ['reader'] } }],
    });
    gw = await startTestGateway(
      {
        http: { responseMode: 'json' },
        auth: {
          oauth: {
            issuer: idp.issuer,
            jwksUrl: idp.jwksUrl,
            audience: 'https://portcullis.test/mcp',
            algorithms: ['RS256'],
            rolesClaim: 'roles',
          },
        },
        policy: { files: [policyFile], watch: false },
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [echoTool] }],
        egress: {
          connectors: { api: { allowPrivate: ['127.0.0.1/32'] } },
          // The IdP runs on loopback: its JWKS is one of the gateway's own destinations, named here.
          gateway: { oauthJwks: { allowPrivate: ['loopback'] } },
        },
      },
      [],
    );
  });
  after(async () => {
    await gw?.close();
    await idp?.close();
    await backend?.close();
  });

  it('a fresh token of the same subject without the role loses the role on the open session', async () => {
    const token = (roles: string[]) =>
      idp.mint({ claims: { sub: 'carol', roles, aud: 'https://portcullis.test/mcp', jti: randomUUID() } });
    const opener = await token(['reader']);
    const init = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: `Bearer ${opener}` });
    assert.equal(init.status, 200);
    await init.body?.cancel();
    const sessionId = init.headers.get('mcp-session-id')!;
    const headers = (credential: string) => ({
      authorization: `Bearer ${credential}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': PROTOCOL,
    });
    await rawPost(gw.gateway.mcpUrl, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers(opener));
    const call = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'api_echo', arguments: {} } };

    const allowed = await rawPost(gw.gateway.mcpUrl, call, headers(opener));
    assert.doesNotMatch(await allowed.text(), /"isError":true/);
    assert.equal(backend.requests.length, 1);

    const demoted = await rawPost(gw.gateway.mcpUrl, call, headers(await token([])));
    assert.equal(demoted.status, 200);
    // Without the role the tool is hidden from this principal: answered like an unknown tool.
    assert.match(await demoted.text(), /"code":"TOOL_NOT_FOUND"/);
    assert.equal(backend.requests.length, 1, 'nothing reached the backend for the demoted credential');
  });
});
