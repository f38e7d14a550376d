/**
 * The credential of one long-lived upstream connection shared by every agent: each fetch carries the
 * credential of the call it runs for, or the connector's own static one, never another call's; and a
 * credential is recorded in the audit log once, when it is minted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../../kernel/index.js';
import type { AuditRecordInput, AuditSink } from '../audit/index.js';
import type { CatalogTool } from '../catalog/index.js';
import { createBackendCredentials, withCallCredential } from './backend-credentials.js';
import { createCredentialIssuer } from './issuer.js';
import { createKeySet, generateSigningKey } from './keys.js';

const principal: Principal = { agentId: 'a1', roles: [], authMethod: 'task-token' };
const tool = {
  exposedName: 'api_get_user',
  connector: { id: 'api' },
  descriptor: { name: 'get_user' },
  flags: [],
} as unknown as CatalogTool;

async function setup() {
  const keys = createKeySet({ active: await generateSigningKey() });
  const records: AuditRecordInput[] = [];
  const credentials = await createBackendCredentials({
    config: {
      api: { type: 'jwt', audience: 'https://api.test' },
      bearer: { type: 'bearer', secret: 'env:BEARER' },
    } as never,
    issuer: createCredentialIssuer({ issuer: 'https://gateway.test', keys }),
    env: { BEARER: 'static-secret' },
    baseDir: '.',
    tasksExpiry: async () => undefined,
    audit: { append: async (r: AuditRecordInput) => void records.push(r) } as unknown as AuditSink,
  });
  return { credentials, records };
}

/** A fetch that answers 204 and keeps the headers of each request it was given. */
function recordingFetch() {
  const seen: Headers[] = [];
  const fetch = async (_input: string | URL, init?: RequestInit) => {
    seen.push(new Headers(init?.headers));
    return new Response(null, { status: 204 });
  };
  return { fetch, seen };
}

describe('upstream connection fetch', () => {
  it('sends the current call credential, else the static one, after removing what the caller set', async () => {
    const { credentials } = await setup();
    const { fetch, seen } = recordingFetch();
    const upstream = credentials.upstreamFetch('bearer', fetch);
    const init = { headers: { authorization: 'Bearer from-the-agent', cookie: 'c=1', 'x-ok': '1' } };
    await upstream('https://api.test/mcp', init);
    const call = (headers: Headers) => void headers.set('authorization', 'Bearer per-call');
    await withCallCredential(call, () => upstream('https://api.test/mcp', init));
    assert.equal(seen[0]!.get('authorization'), 'Bearer static-secret');
    assert.equal(seen[0]!.get('cookie'), null);
    assert.equal(seen[0]!.get('x-ok'), '1');
    assert.equal(seen[1]!.get('authorization'), 'Bearer per-call');

    const bare = credentials.upstreamFetch('api', fetch);
    await bare('https://api.test/mcp', init);
    assert.equal(seen[2]!.get('authorization'), null, 'a JWT connector has no static credential');
  });

  it('never hands a call the credential of another call it runs inside', async () => {
    const { credentials } = await setup();
    const { fetch, seen } = recordingFetch();
    const upstream = credentials.upstreamFetch('api', fetch);
    const outer = (headers: Headers) => void headers.set('authorization', 'Bearer outer-call');
    await withCallCredential(outer, () => withCallCredential(undefined, () => upstream('https://api.test/mcp')));
    assert.equal(seen[0]!.get('authorization'), null);
  });
});

describe('audit of minted credentials', () => {
  it('records a fresh mint once, and not its reuses', async () => {
    const { credentials, records } = await setup();
    const input = { principal, task: { id: 't1' }, tool, operation: { method: 'GET', path: '/u' }, elevated: false };
    const first = await credentials.provider(input);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.jti, first.jti);
    await credentials.provider(input);
    await credentials.provider(input);
    assert.equal(records.length, 1);
  });
});
