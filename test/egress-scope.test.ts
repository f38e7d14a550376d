/**
 * One egress decision for every outbound request the gateway makes: upstream MCP calls are decided with the
 * calling agent, tool and task in scope; the approvals webhook and the OAuth JWKS fetch are decided by their
 * own rule set. Every denial is EGRESS_DENIED, logged and audited with the rule and the resolved address,
 * and nothing reaches the destination.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startIdp, type Idp } from './fixtures/idp.js';
import { startRecordingServer, type RecordingServer } from './fixtures/recording-server.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { writePolicy } from './helpers/policy.js';
import { eventually } from './helpers/eventually.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function code(result: unknown): unknown {
  return (result as { _meta?: Record<string, unknown> })._meta?.['portcullis/code'];
}

const egressDenials = async (gw: TestGateway) =>
  (await readAudit(gw.auditFile)).filter((r) => r['event'] === 'egress.denied');

describe('upstream MCP calls are decided with agent, tool and task in scope', () => {
  let upstream: UpstreamHttp;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstreamHttp();
    const policy = await writePolicy({
      version: 1,
      name: 'scoped-egress',
      rules: [
        // By address, so the decision is made on the resolved address at connect time.
        {
          id: 'no-upstream-for-intern',
          effect: 'deny',
          principal: { agents: ['intern'] },
          egress: { cidrs: ['127.0.0.0/8'] },
        },
        { id: 'no-add-over-egress', effect: 'deny', tools: ['up_add'], egress: { classes: ['loopback'] } },
      ],
    });
    gw = await startTestGateway(
      {
        connectors: [{ id: 'up', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { up: { allowPrivate: ['loopback'] } } },
        policy: { files: [policy], watch: false },
      },
      [
        { id: 'staff', tools: ['up_*'] },
        { id: 'intern', tools: ['up_*'] },
      ],
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const calls = () => upstream.events.filter((e) => e.kind === 'call').length;

  it('an agent the egress policy denies gets EGRESS_DENIED and the upstream sees no call', async () => {
    const intern = await gw.connect('intern');
    const before = calls();
    const result = await intern.callTool({ name: 'up_echo', arguments: { text: 'hi' } });
    assert.equal(code(result), 'EGRESS_DENIED', JSON.stringify(result));
    assert.equal(calls(), before, 'nothing reached the upstream');

    const staff = await gw.connect('staff');
    const allowed = await staff.callTool({ name: 'up_echo', arguments: { text: 'hi' } });
    assert.deepEqual(allowed.content, [{ type: 'text', text: 'hi' }]);
    assert.equal(calls(), before + 1);
  });

  it('a tool the egress policy denies gets EGRESS_DENIED for every agent', async () => {
    const staff = await gw.connect('staff');
    const before = calls();
    const result = await staff.callTool({ name: 'up_add', arguments: { a: 1, b: 2 } });
    assert.equal(code(result), 'EGRESS_DENIED');
    assert.equal(calls(), before);
  });

  it('each denial is audited with the rule, the resolved address and who asked; the call record says EGRESS_DENIED', async () => {
    let denials: Record<string, unknown>[] = [];
    await eventually(
      async () => (denials = await egressDenials(gw)).length >= 2,
      'the egress denials in the audit log',
    );
    const intern = denials.find((r) => r['agentId'] === 'intern');
    assert.ok(intern !== undefined, JSON.stringify(denials));
    assert.equal(intern['code'], 'EGRESS_DENIED');
    assert.deepEqual(intern['rules'], ['no-upstream-for-intern']);
    assert.equal(intern['tool'], 'up_echo');
    assert.equal(typeof intern['taskId'], 'string');
    assert.deepEqual(
      {
        ip: (intern['detail'] as Record<string, unknown>)['ip'],
        cls: (intern['detail'] as Record<string, unknown>)['addressClass'],
      },
      { ip: '127.0.0.1', cls: 'loopback' },
    );
    const byTool = denials.find((r) => r['tool'] === 'up_add');
    assert.deepEqual(byTool?.['rules'], ['no-add-over-egress']);

    const callRecords = (await readAudit(gw.auditFile)).filter(
      (r) => r['event'] === 'tool.call' && r['code'] === 'EGRESS_DENIED',
    );
    assert.equal(callRecords.length, 2);
    for (const record of callRecords) assert.equal(record['decision'], 'deny');
  });
});

const stdioUpstream = {
  id: 'up',
  kind: 'mcp',
  transport: 'stdio',
  command: process.execPath,
  args: ['--import', 'tsx', path.join(here, 'fixtures/mcp-upstream-stdio.ts')],
  cwd: path.join(here, '..'),
};

describe("the gateway's own requests have their own egress rules", () => {
  let hook: RecordingServer;
  let idp: Idp;
  let gw: TestGateway;

  before(async () => {
    hook = await startRecordingServer((_req, res) => res.writeHead(204).end());
    idp = await startIdp();
    const policy = await writePolicy({
      version: 1,
      name: 'approvals',
      rules: [
        { id: 'echo-needs-approval', effect: 'approve', tools: ['up_echo'] },
        // A connector rule that would open everything must not open the gateway's own destinations.
        { id: 'connectors-anywhere', effect: 'allow', egress: { hosts: ['**'], classes: ['loopback'] } },
      ],
    });
    gw = await startTestGateway(
      {
        http: { publicUrl: 'http://portcullis.test' },
        auth: {
          oauth: {
            issuer: idp.issuer,
            jwksUrl: idp.jwksUrl,
            audience: 'http://portcullis.test/mcp',
            algorithms: ['RS256'],
          },
        },
        approvals: { mode: 'return', webhookUrl: `${hook.url}hooks/approvals` },
        connectors: [stdioUpstream],
        policy: { files: [policy], watch: false },
      },
      [{ id: 'agent', tools: ['up_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await hook?.close();
    await idp?.close();
  });

  it('the OAuth JWKS on a loopback address is not fetched unless named for it: the token cannot be verified', async () => {
    const token = await idp.mint({ claims: { sub: 'oauth-agent', aud: 'http://portcullis.test/mcp' } });
    const client = new Client({ name: 'oauth-agent', version: '1' });
    await assert.rejects(
      client.connect(
        new StreamableHTTPClientTransport(new URL(gw.gateway.mcpUrl), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      ),
      /UNAUTHENTICATED/,
    );
    assert.equal(idp.jwksRequests, 0, 'the IdP never saw a JWKS request');
    let denial: Record<string, unknown> | undefined;
    await eventually(async () => {
      denial = (await egressDenials(gw)).find((r) => String(r['target']).startsWith('portcullis:oauth-jwks'));
      return denial !== undefined;
    }, 'the JWKS denial in the audit log');
    assert.equal(denial?.['code'], 'EGRESS_DENIED');
    assert.equal((denial?.['detail'] as Record<string, unknown>)['addressClass'], 'loopback');
  });

  it('the approvals webhook on a loopback address is not called unless named for it', async () => {
    const client = await gw.connect('agent');
    const result = await client.callTool({ name: 'up_echo', arguments: { text: 'please' } });
    assert.equal(code(result), 'APPROVAL_PENDING', JSON.stringify(result));
    let denial: Record<string, unknown> | undefined;
    await eventually(async () => {
      denial = (await egressDenials(gw)).find((r) => String(r['target']).startsWith('portcullis:approvals-webhook'));
      return denial !== undefined;
    }, 'the webhook denial in the audit log');
    assert.equal(denial?.['code'], 'EGRESS_DENIED');
    assert.equal((denial?.['detail'] as Record<string, unknown>)['ip'], '127.0.0.1');
    assert.equal(hook.requests.length, 0, 'the webhook received nothing');
  });
});

describe("naming a destination for the gateway's own requests opens it", () => {
  it('the approvals webhook is called once its loopback address is named', async () => {
    const hook = await startRecordingServer((_req, res) => res.writeHead(204).end());
    const policy = await writePolicy({
      version: 1,
      name: 'approvals',
      rules: [{ id: 'echo-needs-approval', effect: 'approve', tools: ['up_echo'] }],
    });
    const gw = await startTestGateway(
      {
        approvals: { mode: 'return', webhookUrl: `${hook.url}hooks/approvals` },
        egress: { gateway: { approvalsWebhook: { allowPrivate: ['127.0.0.1/32'] } } },
        connectors: [stdioUpstream],
        policy: { files: [policy], watch: false },
      },
      [{ id: 'agent', tools: ['up_*'] }],
    );
    try {
      const client = await gw.connect('agent');
      const result = await client.callTool({ name: 'up_echo', arguments: { text: 'please' } });
      assert.equal(code(result), 'APPROVAL_PENDING');
      await eventually(() => hook.requests.length === 1, 'the webhook call');
      assert.equal(hook.requests[0]?.url, '/hooks/approvals');
      assert.deepEqual(await egressDenials(gw), []);
    } finally {
      await gw.close();
      await hook.close();
    }
  });
});
