/**
 * Intent-chain tracing end to end: a gateway child process with telemetry on exports to a real OTLP
 * receiver; an agent runs one task (one MCP session) with an allowed HTTP call, an allowed upstream MCP
 * call, a denied call and a call an operator approves. The test reads the exported spans and checks the
 * tree (one trace per task), the attributes of each span, the agent's own trace as a span link, and the
 * `traceparent` each backend received.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { GET_USER_TOOL, startHttpBackend } from './fixtures/http-backend.js';
import { startGatewayProcess, type GatewayProcess } from './fixtures/gateway-process.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './fixtures/otlp-receiver.js';
import { writePolicy } from './helpers/policy.js';

type Backend = Awaited<ReturnType<typeof startHttpBackend>>;

const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_ERROR = 2;

const httpTools = [
  GET_USER_TOOL,
  {
    name: 'delete_repo',
    method: 'DELETE',
    path: '/repos/{owner}/{repo}',
    inputSchema: {
      type: 'object',
      properties: { owner: { type: 'string' }, repo: { type: 'string' } },
      required: ['owner', 'repo'],
      additionalProperties: false,
    },
  },
  {
    name: 'refund',
    method: 'POST',
    path: '/refunds',
    inputSchema: {
      type: 'object',
      properties: { order: { type: 'string', maxLength: 20 }, amount: { type: 'number', minimum: 0 } },
      required: ['order', 'amount'],
      additionalProperties: false,
    },
    body: { args: ['order', 'amount'] },
  },
];

const POLICY = {
  version: 1,
  name: 'tracing',
  rules: [
    // Conditional, so the tool stays listed (an unconditional deny hides it) and the call is decided.
    { id: 'no-prod-deletes', effect: 'deny', tools: ['api_delete_repo'], when: "args.repo == 'prod'" },
    { id: 'refunds-need-approval', effect: 'approve', tools: ['api_refund'] },
  ],
};

/** The agent's own trace: sent in `params._meta`, so each call span links to it. */
const AGENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const agentTraceparent = (spanId: string): string => `00-${AGENT_TRACE_ID}-${spanId}-01`;
const JAEGER_UI = 'http://jaeger.test:16686';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

interface Outcome {
  tool: string;
  agentSpanId: string;
  result: { isError?: boolean; content?: unknown; _meta?: Record<string, unknown> };
}

describe('intent-chain tracing through a gateway process', () => {
  let receiver: OtlpReceiver;
  let backend: Backend;
  let upstream: UpstreamHttp;
  let gateway: GatewayProcess;
  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  let approvalId: string;
  let approvalTraceUrl: string | undefined;
  const outcomes = new Map<string, Outcome>();
  let spans: ReceivedSpan[] = [];
  const agentKey = generateApiKey();
  const operatorToken = generateApiKey();
  let backendBefore = 0;

  before(async () => {
    receiver = await startOtlpReceiver();
    backend = await startHttpBackend();
    upstream = await startUpstreamHttp();
    const policyFile = await writePolicy(POLICY);
    gateway = await startGatewayProcess({
      config: (dir) => ({
        listen: { host: '127.0.0.1', port: 0 },
        connectors: [
          { id: 'api', kind: 'http', baseUrl: backend.url, tools: httpTools },
          { id: 'up', kind: 'mcp', transport: 'http', url: upstream.url },
        ],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.0/8'] }, up: { allowPrivate: ['127.0.0.0/8'] } } },
        agents: [{ id: 'trace-agent', roles: ['tester'], apiKeys: [{ sha256: digestApiKey(agentKey) }], tools: ['*'] }],
        operators: [{ id: 'alice', roles: ['approver', 'viewer'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
        approvals: { mode: 'wait', waitSeconds: 10 },
        policy: { files: [policyFile], watch: false },
        audit: { file: path.join(dir, 'audit.jsonl') },
        telemetry: {
          enabled: true,
          serviceName: 'portcullis-tracing-test',
          otlpEndpoint: receiver.url,
          sampleRatio: 1,
          jaegerUiUrl: JAEGER_UI,
        },
      }),
      // Export promptly; shutdown flushes whatever is left anyway.
      env: { OTEL_BSP_SCHEDULE_DELAY: '100' },
    });

    const { client, transport } = await gateway.connect(agentKey);
    sessionId = transport.sessionId;
    protocolVersion = transport.protocolVersion;
    backendBefore = backend.requests.length;
    const call = async (
      tool: string,
      args: Record<string, unknown>,
      agentSpanId: string,
    ): Promise<Outcome['result']> => {
      const result = (await client.callTool(
        { name: tool, arguments: args, _meta: { traceparent: agentTraceparent(agentSpanId) } },
        undefined,
        {
          timeout: 30_000,
        },
      )) as Outcome['result'];
      outcomes.set(tool, { tool, agentSpanId, result });
      return result;
    };

    await call('api_get_user', { id: 7 }, '00f067aa0ba90201');
    await call('up_meta_echo', {}, '00f067aa0ba90202');
    await call('api_delete_repo', { owner: 'acme', repo: 'prod' }, '00f067aa0ba90203');

    // The refund waits for an operator: approve it through the operator API while the call is pending.
    const refund = call('api_refund', { order: 'A-1', amount: 250 }, '00f067aa0ba90204');
    refund.catch(() => undefined); // awaited below; a failed approval must not leave it unhandled
    ({ id: approvalId, traceUrl: approvalTraceUrl } = await approvePending(gateway.baseUrl, operatorToken));
    await refund;

    // Ending the session ends the task, and with it the task span.
    await transport.terminateSession();
    await client.close();
    spans = await receiver.waitForSpans(
      (all) =>
        all.some((s) => s.name.startsWith('task')) &&
        all.some((s) => s.name === 'approval.decision') &&
        all.filter((s) => s.name.startsWith('tools/call ')).length >= 4,
    );
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await backend?.close();
    await receiver?.close();
  });

  const callSpan = (tool: string): ReceivedSpan => {
    const found = spans.filter((s) => s.name === `tools/call ${tool}`);
    assert.equal(found.length, 1, `one call span for ${tool}; spans: ${spans.map((s) => s.name).join(', ')}`);
    return found[0]!;
  };
  const childrenOf = (span: ReceivedSpan, name?: string): ReceivedSpan[] =>
    spans.filter(
      (s) => s.parentSpanId === span.spanId && s.traceId === span.traceId && (name === undefined || s.name === name),
    );
  const taskSpan = (): ReceivedSpan => {
    const tasks = spans.filter((s) => s.name === 'task' || s.name.startsWith('task '));
    assert.equal(tasks.length, 1, 'one task span');
    return tasks[0]!;
  };

  it('answers each call as the policy says', () => {
    assert.notEqual(outcomes.get('api_get_user')?.result.isError, true, JSON.stringify(outcomes.get('api_get_user')));
    assert.notEqual(outcomes.get('up_meta_echo')?.result.isError, true, JSON.stringify(outcomes.get('up_meta_echo')));
    const denied = outcomes.get('api_delete_repo')!.result;
    assert.equal(denied.isError, true);
    assert.equal(denied._meta?.['portcullis/code'], 'POLICY_DENIED');
    assert.notEqual(outcomes.get('api_refund')?.result.isError, true, JSON.stringify(outcomes.get('api_refund')));
    const reached = backend.requests.slice(backendBefore).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(reached, ['GET /users/7', 'POST /refunds'], 'the denied DELETE never reached the backend');
  });

  it('exports one trace per task: the task span is the root, every call its child', () => {
    const task = taskSpan();
    assert.equal(task.parentSpanId, undefined, 'the task span is a root');
    assert.equal(task.attributes['portcullis.agent.id'], 'trace-agent');
    assert.equal(typeof task.attributes['portcullis.task.id'], 'string');
    assert.equal(task.resource['service.name'], 'portcullis-tracing-test');
    for (const tool of outcomes.keys()) {
      const span = callSpan(tool);
      assert.equal(span.traceId, task.traceId, `${tool} is in the task's trace`);
      assert.equal(span.parentSpanId, task.spanId, `${tool} is a child of the task span`);
    }
  });

  it('gives each call span the MCP / GenAI attributes and the gateway facts', () => {
    const task = taskSpan();
    assert.equal(typeof sessionId, 'string', 'the session has an id');
    const requestIds = new Set<unknown>();
    for (const tool of outcomes.keys()) {
      const span = callSpan(tool);
      const a = span.attributes;
      assert.equal(span.kind, KIND_SERVER, tool);
      assert.equal(a['mcp.method.name'], 'tools/call', tool);
      assert.equal(a['gen_ai.tool.name'], tool);
      assert.equal(a['gen_ai.operation.name'], 'execute_tool', tool);
      assert.equal(a['mcp.session.id'], sessionId, tool);
      // Streamable HTTP: TCP transport, HTTP protocol, and the version negotiated at initialize.
      assert.equal(typeof protocolVersion, 'string', 'the client negotiated a protocol version');
      assert.equal(a['mcp.protocol.version'], protocolVersion, tool);
      assert.equal(a['network.transport'], 'tcp', tool);
      assert.equal(a['network.protocol.name'], 'http', tool);
      assert.equal(a['network.protocol.version'], '1.1', tool);
      assert.ok(
        a['jsonrpc.request.id'] !== undefined && a['jsonrpc.request.id'] !== '',
        `${tool} has jsonrpc.request.id`,
      );
      requestIds.add(a['jsonrpc.request.id']);
      assert.equal(a['portcullis.task.id'], task.attributes['portcullis.task.id'], tool);
      assert.equal(a['portcullis.agent.id'], 'trace-agent', tool);
      assert.equal(typeof a['portcullis.policy.version'], 'string', `${tool} names the policy version`);
      assert.ok(Array.isArray(a['portcullis.rules']), `${tool} lists the deciding rules`);
    }
    assert.equal(requestIds.size, outcomes.size, 'each call has its own JSON-RPC id');
    assert.equal(callSpan('api_get_user').attributes['portcullis.decision'], 'allow');
    assert.equal(callSpan('up_meta_echo').attributes['portcullis.decision'], 'allow');
    assert.equal(callSpan('api_refund').attributes['portcullis.decision'], 'allow', 'an approved call ran');
    assert.ok((callSpan('api_refund').attributes['portcullis.rules'] as string[]).includes('refunds-need-approval'));
  });

  it('marks the denied call with error.type and the rule that denied it, and sends nothing to the backend', () => {
    const span = callSpan('api_delete_repo');
    assert.equal(span.attributes['portcullis.decision'], 'deny');
    assert.equal(span.attributes['error.type'], 'POLICY_DENIED');
    assert.equal(span.status.code, STATUS_ERROR);
    assert.ok((span.attributes['portcullis.rules'] as string[]).includes('no-prod-deletes'));
    const decision = childrenOf(span, 'policy.decide');
    assert.equal(decision.length, 1);
    assert.equal(decision[0]!.attributes['portcullis.decision'], 'deny');
    assert.deepEqual(childrenOf(span, 'backend.request'), [], 'no backend span for a denied call');
    assert.deepEqual(childrenOf(span, 'approval.wait'), []);
    for (const tool of ['api_get_user', 'up_meta_echo', 'api_refund']) {
      assert.equal(callSpan(tool).attributes['error.type'], undefined, `${tool} succeeded`);
    }
  });

  it('has policy.decide and backend.request children on allowed calls', () => {
    for (const tool of ['api_get_user', 'up_meta_echo', 'api_refund']) {
      const span = callSpan(tool);
      const decisions = childrenOf(span, 'policy.decide');
      assert.equal(decisions.length, 1, `${tool} has one policy.decide child`);
      assert.equal(decisions[0]!.attributes['portcullis.decision'], tool === 'api_refund' ? 'approve' : 'allow');
      const backendSpans = childrenOf(span, 'backend.request');
      assert.equal(backendSpans.length, 1, `${tool} has one backend.request child`);
      assert.equal(backendSpans[0]!.kind, KIND_CLIENT);
    }
    const httpBackend = childrenOf(callSpan('api_get_user'), 'backend.request')[0]!;
    assert.equal(httpBackend.attributes['http.request.method'], 'GET');
    assert.equal(httpBackend.attributes['url.path'], '/users/7');
  });

  it('records the approval wait with the request id and who approved', () => {
    const span = callSpan('api_refund');
    assert.equal(span.attributes['portcullis.approval.id'], approvalId);
    const waits = childrenOf(span, 'approval.wait');
    assert.equal(waits.length, 1);
    const wait = waits[0]!;
    assert.equal(wait.attributes['portcullis.approval.id'], approvalId);
    assert.equal(wait.attributes['portcullis.decision'], 'approved');
    assert.deepEqual(wait.attributes['portcullis.approval.approvers'], ['alice']);
    const decisions = childrenOf(wait, 'approval.decision');
    assert.equal(decisions.length, 1, "the operator's decision is a span in the same trace");
    assert.equal(decisions[0]!.attributes['portcullis.approval.approver'], 'alice');
    assert.equal(decisions[0]!.attributes['portcullis.decision'], 'approve');
    assert.equal(
      approvalTraceUrl,
      `${JAEGER_UI}/trace/${taskSpan().traceId}`,
      "operators get a link to the waiting call's trace",
    );
  });

  it("links each call span to the agent's own span from params._meta.traceparent", () => {
    for (const outcome of outcomes.values()) {
      const span = callSpan(outcome.tool);
      assert.notEqual(span.traceId, AGENT_TRACE_ID, 'the call stays in the task trace');
      assert.ok(
        span.links.some((link) => link.traceId === AGENT_TRACE_ID && link.spanId === outcome.agentSpanId),
        `${outcome.tool} links to the agent span ${outcome.agentSpanId}; links: ${JSON.stringify(span.links)}`,
      );
    }
  });

  it('propagates the backend span as traceparent: HTTP header to the API, _meta to the upstream MCP server', () => {
    const task = taskSpan();
    const [get, refund] = backend.requests.slice(backendBefore);
    for (const [tool, request] of [
      ['api_get_user', get],
      ['api_refund', refund],
    ] as const) {
      const header = request?.headers['traceparent'];
      assert.equal(typeof header, 'string', `${tool}: the backend received a traceparent header`);
      const match = TRACEPARENT.exec(header as string);
      assert.ok(match, `${tool}: well-formed traceparent ${String(header)}`);
      assert.equal(match[1], task.traceId, `${tool}: the backend joins the task trace`);
      assert.equal(
        match[2],
        childrenOf(callSpan(tool), 'backend.request')[0]!.spanId,
        `${tool}: parented on the backend span`,
      );
    }

    const echoed = outcomes.get('up_meta_echo')!.result.content as { type: string; text: string }[];
    const meta = JSON.parse(echoed[0]!.text) as Record<string, unknown>;
    const match = TRACEPARENT.exec(String(meta['traceparent']));
    assert.ok(match, `the upstream received _meta.traceparent: ${echoed[0]!.text}`);
    assert.equal(match[1], task.traceId, 'the upstream joins the task trace');
    assert.equal(match[2], childrenOf(callSpan('up_meta_echo'), 'backend.request')[0]!.spanId);
  });

  it('never puts the agent key or the operator token on a span', () => {
    const exported = JSON.stringify(spans);
    assert.ok(!exported.includes(agentKey));
    assert.ok(!exported.includes(operatorToken));
  });
});

/** Wait for the one pending approval request and approve it as `alice`; returns its id and trace link. */
async function approvePending(baseUrl: string, token: string): Promise<{ id: string; traceUrl?: string }> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const response = await fetch(`${baseUrl}/v1/approvals?status=pending`, { headers });
    assert.equal(response.status, 200, `listing approvals: ${response.status}`);
    const { approvals } = (await response.json()) as { approvals: { id: string; tool: string; traceUrl?: string }[] };
    const ticket = approvals.find((a) => a.tool === 'api_refund');
    if (ticket !== undefined) {
      const approved = await fetch(`${baseUrl}/v1/approvals/${encodeURIComponent(ticket.id)}/approve`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ reason: 'order verified' }),
      });
      assert.equal(approved.status, 200, `approving: ${approved.status} ${await approved.text()}`);
      return { id: ticket.id, ...(ticket.traceUrl !== undefined ? { traceUrl: ticket.traceUrl } : {}) };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('no pending approval request appeared');
}
