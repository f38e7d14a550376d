/**
 * Outbound header hygiene on the call path: identity, forwarding and credential headers that arrive with a
 * call never reach the backend, whatever layer let them in; the backend sees the gateway's own credential
 * and nothing the agent claimed. The MCP edge already drops everything from the agent's `_meta` but trace
 * context, so these calls hand the pipeline such headers directly: the outbound step must hold on its own.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createHttpConnector } from '../connectors/http/index.js';
import type { AuditSink } from '../gateway/services/audit/types.js';
import { createCatalog } from '../gateway/services/catalog/catalog.js';
import { createPipeline, type EgressProvider } from '../gateway/pipeline/index.js';
import { compilePolicy } from '../policies/index.js';
import { startHttpBackend } from './fixtures/http-backend.js';

const GATEWAY_CREDENTIAL = 'Bearer gateway-issued-credential';

/** Headers an agent might try to smuggle: who it is, where the request came from, whose session it is. */
const IDENTITY_HEADERS: Record<string, string> = {
  authorization: 'Bearer agent-own-token',
  'proxy-authorization': 'Basic YWRtaW46YWRtaW4=',
  cookie: 'session=agent-session',
  forwarded: 'for=10.0.0.1;host=admin.internal',
  'x-forwarded-for': '10.0.0.1',
  'x-forwarded-host': 'admin.internal',
  'x-real-ip': '10.0.0.1',
  'x-original-url': '/admin',
  'x-rewrite-url': '/admin',
  'x-portcullis-agent': 'admin',
  'x-portcullis-tenant': 'globex',
  'x-http-method-override': 'DELETE',
};

describe('outbound header hygiene', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let pipeline: Awaited<ReturnType<typeof createPipeline>>;
  const audit: AuditSink = { append: async () => {}, flush: async () => {}, close: async () => {} };

  before(async () => {
    backend = await startHttpBackend();
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: backend.url,
      tools: [
        {
          name: 'echo',
          method: 'POST',
          path: '/echo',
          body: { args: ['note'] },
          inputSchema: { type: 'object', properties: { note: { type: 'string' } }, required: ['note'] },
        },
      ],
    });
    const egress: EgressProvider = { fetchFor: () => (input, init) => fetch(input, init) };
    const catalog = createCatalog({
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
    const engine = compilePolicy([], { extraRules: [{ id: 'allow', effect: 'allow', tools: ['api_echo'] }] });
    pipeline = createPipeline({
      catalog,
      policy: { current: () => engine },
      egress,
      audit,
      flushAuditBeforeResponse: false,
      callTimeoutMs: 5000,
      credentials: async () => ({ inject: (headers) => headers.set('authorization', GATEWAY_CREDENTIAL) }),
    });
  });
  after(async () => {
    await backend?.close();
  });
  beforeEach(() => {
    backend.requests.length = 0;
  });

  const ctxWith = (meta: Record<string, string>) => ({
    principal: { agentId: 'reader', tenant: 'acme', roles: [], authMethod: 'api-key' as const },
    task: { id: 't' },
    signal: new AbortController().signal,
    meta,
  });

  it('identity and forwarding headers that come with a call never reach the backend', async () => {
    const result = await pipeline.callTool('api_echo', { note: 'hello' }, ctxWith(IDENTITY_HEADERS));
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(backend.requests.length, 1);
    const received = backend.requests[0]!;
    assert.equal(`${received.method} ${received.url}`, 'POST /echo');
    assert.deepEqual(JSON.parse(received.body), { note: 'hello' });
    for (const name of Object.keys(IDENTITY_HEADERS)) {
      if (name === 'authorization') continue;
      assert.equal(received.headers[name], undefined, `${name} reached the backend`);
    }
    assert.equal(received.headers.authorization, GATEWAY_CREDENTIAL, "the backend sees the gateway's credential");
    const raw = JSON.stringify(received.headers);
    for (const claimed of ['agent-own-token', 'agent-session', 'admin.internal', '10.0.0.1', 'globex'])
      assert.doesNotMatch(raw, new RegExp(claimed.replace(/\./g, '\\.')), `${claimed} reached the backend`);
  });

  it('trace context that comes with a call still reaches the backend', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const result = await pipeline.callTool('api_echo', { note: 'traced' }, ctxWith({ traceparent }));
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(backend.requests[0]?.headers.traceparent, traceparent);
  });
});
