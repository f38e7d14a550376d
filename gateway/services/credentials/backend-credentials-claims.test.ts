/**
 * What the credential step hands a backend, claim by claim, and what it records: the user a call is made
 * for, the task's end, the scope of MCP tools, the revocation question asked only of reused credentials,
 * the audit record of a fresh mint, and the static secrets of non-JWT connectors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Principal } from '../../kernel/index.js';
import type { AuditRecordInput, AuditSink } from '../audit/index.js';
import type { CatalogTool } from '../catalog/index.js';
import type { Metrics } from '../metrics/index.js';
import { contextualInjector, createBackendCredentials, withCallCredential } from './backend-credentials.js';
import { createCredentialIssuer } from './issuer.js';
import { createKeySet, generateSigningKey } from './keys.js';

const AUDIENCE = 'https://api.test';
const principal: Principal = { agentId: 'a1', roles: [], authMethod: 'task-token' };
const toolOf = (connector: string) =>
  ({
    exposedName: `${connector}_get_user`,
    connector: { id: connector },
    descriptor: { name: 'get_user' },
    flags: [],
  }) as unknown as CatalogTool;
const call = {
  principal,
  task: { id: 't1' },
  tool: toolOf('api'),
  operation: { method: 'GET', path: '/users/1' },
  elevated: false,
};

async function setup(options: { revoked?: string[]; notAfter?: number; withRevocation?: boolean } = {}) {
  const keys = createKeySet({ active: await generateSigningKey() });
  const issuer = createCredentialIssuer({ issuer: 'https://gateway.test', keys });
  const asked: string[] = [];
  const records: AuditRecordInput[] = [];
  const mints: [string, boolean][] = [];
  const audit = { append: async (r: AuditRecordInput) => void records.push(r) } as unknown as AuditSink;
  const metrics = {
    credentialMint: (kind: string, reused: boolean) => void mints.push([kind, reused]),
  } as unknown as Metrics;
  const credentials = await createBackendCredentials({
    config: {
      api: { type: 'jwt', audience: AUDIENCE },
      bearer: { type: 'bearer', secret: 'env:BEARER' },
      header: { type: 'header', name: 'X-Api-Key', secret: 'env:KEY' },
      basic: { type: 'basic', username: 'svc', password: 'env:PASSWORD' },
    } as never,
    issuer,
    env: { BEARER: 'b-secret', KEY: 'k-secret', PASSWORD: 'p:w' },
    baseDir: '.',
    tasksExpiry: async () => options.notAfter,
    ...(options.withRevocation === false
      ? {}
      : {
          isJtiRevoked: async (jti: string) => {
            asked.push(jti);
            return options.revoked?.includes(jti) ?? false;
          },
        }),
    audit,
    metrics,
  });
  return { credentials, asked, records, mints };
}

async function sent(inject: ((h: Headers, r: { url: string; method: string }) => unknown) | undefined) {
  const headers = new Headers();
  await inject?.(headers, { url: `${AUDIENCE}/users/1`, method: 'GET' });
  return headers;
}

describe('call credential claims', () => {
  it('names the agent as subject, or the user it acts for with the agent as actor', async () => {
    const { credentials } = await setup();
    const own = decodeJwt((await sent((await credentials.provider(call)).inject)).get('authorization')!.slice(7));
    assert.equal(own.sub, 'a1');
    assert.equal(own['act'], undefined);
    assert.equal(own['scope'], 'GET /users/1');
    assert.equal(own['tid'], 't1');
    assert.equal(own['elv'], undefined);
    const forUser = await credentials.provider({ ...call, principal: { ...principal, onBehalfOf: 'alice' } });
    const claims = decodeJwt((await sent(forUser.inject)).get('authorization')!.slice(7));
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims['act'], { sub: 'a1' });
    const elevated = await credentials.provider({ ...call, elevated: true });
    assert.equal(decodeJwt((await sent(elevated.inject)).get('authorization')!.slice(7))['elv'], true);
  });

  it('never outlives the task', async () => {
    const notAfter = Date.now() + 5_000;
    const { credentials } = await setup({ notAfter });
    const claims = decodeJwt((await sent((await credentials.provider(call)).inject)).get('authorization')!.slice(7));
    assert.ok(claims.exp! <= Math.floor(notAfter / 1000), `exp ${claims.exp} after the task's end`);
  });

  it('scopes an MCP tool call to the tool', async () => {
    const { credentials } = await setup();
    const { operation: _op, ...mcpCall } = call;
    const claims = decodeJwt((await sent((await credentials.provider(mcpCall)).inject)).get('authorization')!.slice(7));
    assert.equal(claims['scope'], 'tool:get_user');
  });
});

describe('revocation and records', () => {
  it('asks about revocation only when a cached credential is reused', async () => {
    const { credentials, asked } = await setup();
    const first = await credentials.provider(call);
    assert.deepEqual(asked, []);
    await credentials.provider(call);
    assert.deepEqual(asked, [first.jti]);
  });

  it('reuses without asking when no revocation check is configured', async () => {
    const { credentials } = await setup({ withRevocation: false });
    const first = await credentials.provider(call);
    assert.equal((await credentials.provider(call)).jti, first.jti);
  });

  it('records a fresh mint in the audit log and counts every credential', async () => {
    const { credentials, records, mints } = await setup();
    const first = await credentials.provider(call);
    await credentials.provider(call);
    assert.deepEqual(records, [
      {
        event: 'credential.mint',
        agentId: 'a1',
        taskId: 't1',
        tool: 'api_get_user',
        target: AUDIENCE,
        jti: first.jti,
        detail: { scope: 'GET /users/1', elevated: false },
      },
    ]);
    assert.deepEqual(mints, [
      ['call', false],
      ['call', true],
    ]);
  });
});

describe('static backend secrets', () => {
  it('injects a bearer, a named header or basic credentials, and no jti', async () => {
    const { credentials } = await setup();
    const bearer = await credentials.provider({ ...call, tool: toolOf('bearer') });
    assert.equal(bearer.jti, undefined);
    assert.equal((await sent(bearer.inject)).get('authorization'), 'Bearer b-secret');
    const header = await credentials.provider({ ...call, tool: toolOf('header') });
    assert.equal((await sent(header.inject)).get('x-api-key'), 'k-secret');
    const basic = await credentials.provider({ ...call, tool: toolOf('basic') });
    assert.equal((await sent(basic.inject)).get('authorization'), `Basic ${Buffer.from('svc:p:w').toString('base64')}`);
    assert.deepEqual(await credentials.provider({ ...call, tool: toolOf('none') }), {});
  });

  it('offers the static secret for connection-level requests, and nothing for JWT or unknown connectors', async () => {
    const { credentials } = await setup();
    assert.equal((await sent(credentials.staticInjector('bearer'))).get('authorization'), 'Bearer b-secret');
    assert.equal(credentials.staticInjector('api'), undefined);
    assert.equal(credentials.staticInjector('none'), undefined);
  });

  it('hands the current call credential to fetches made during the call, else the fallback', async () => {
    const fallback = (h: Headers) => h.set('authorization', 'Bearer fallback');
    const current = (h: Headers) => h.set('authorization', 'Bearer current');
    const injector = contextualInjector(fallback);
    assert.equal((await sent(injector)).get('authorization'), 'Bearer fallback');
    const inside = await withCallCredential(current, async () => (await sent(injector)).get('authorization'));
    assert.equal(inside, 'Bearer current');
    const plain = await withCallCredential(undefined, async () => (await sent(injector)).get('authorization'));
    assert.equal(plain, 'Bearer fallback');
    assert.equal((await sent(contextualInjector())).get('authorization'), null);
  });
});
