/**
 * The pipeline section of docs/design.md as a table: for each operation and situation, which answer the
 * agent gets, whether the backend is contacted, and which audit records are written. The connectors are
 * the real HTTP connector in front of the fixture backend and the real MCP connector in front of the
 * recording fixture upstream (real servers on port 0); policy is the real engine. Stores, counters and the
 * audit sink are small in-memory stand-ins whose failures are the point of some rows. The table covers
 * every operation's step list (checked below).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttpConnector } from '../../connectors/http/index.js';
import { createMcpConnector } from '../../connectors/mcp/index.js';
import type { JsonObject } from '../../connectors/contract.js';
import { EgressError } from '../../connectors/errors.js';
import { compilePolicy } from '../../policies/index.js';
import { startHttpBackend, type HttpBackend } from '../../test/fixtures/http-backend.js';
import { startUpstreamHttp, type UpstreamHttp } from '../../test/fixtures/mcp-upstream-http.js';
import { ApprovalsSchema } from '../config/schema.js';
import { createActiveCalls, GatewayError } from '../kernel/index.js';
import { createMemoryApprovalQueue, createMemoryGrantStore } from '../services/approvals/index.js';
import type { AuditRecordInput, AuditSink } from '../services/audit/index.js';
import { createCatalog, type Catalog } from '../services/catalog/index.js';
import { createMetrics } from '../services/metrics/index.js';
import type { RateLimiter } from '../services/ratelimit/index.js';
import type { TaskStateSource } from '../services/tasks/index.js';
import type { CallContext, CallState, Operation } from './call-state.js';
import { createPipeline, type EgressProvider, type Pipeline } from './index.js';
import { buildStepLists } from './lists.js';
import { runSteps } from './runner.js';
import type { Step } from './step.js';

interface World {
  rules: object[];
  task?: 'live' | 'ended' | 'store down' | 'labels fail';
  limiter?: 'counting' | 'down';
  audit?: 'ok' | 'intent fails';
  egress?: 'open' | 'denied';
}

interface Row {
  name: string;
  /** Default `tools/call`. */
  operation?: Operation;
  world: World;
  /** What the agent names: the exposed tool or prompt name, or the resource URI. */
  target: string;
  args?: Record<string, unknown>;
  /** Calls made before the one checked (rate limits). */
  warmup?: number;
  /** The stable code the agent sees (tool result or thrown), `ok`, or `empty` (no completions). */
  expect: string;
  /** Thrown as a caller error (JSON-RPC) rather than answered as a tool result. */
  thrown?: boolean;
  backend: boolean;
  /** [event, decision, code] of the records this call wrote. */
  records: [string, string, string | undefined][];
}

const ALLOW_TEXT = { id: 'allow-text', effect: 'allow', tools: ['api_text'] };
const ALLOW_ALL = { id: 'allow-all', effect: 'allow', tools: ['api_*'] };
const ALLOW_ITEMS = { id: 'allow-items', effect: 'allow', resources: ['fixture://items/*'] };
const ALLOW_GREET = { id: 'allow-greet', effect: 'allow', prompts: ['up_greet'] };
const COMPLETE_GREET = { ref: { type: 'ref/prompt', name: 'up_greet' }, argument: { name: 'name', value: 'al' } };

const table: Row[] = [
  {
    name: 'an allowed call is recorded ahead, made, and recorded with its outcome',
    world: { rules: [ALLOW_TEXT] },
    target: 'api_text',
    expect: 'ok',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['tool.call', 'allow', undefined],
    ],
  },
  {
    name: 'an unknown tool is the caller mistake, recorded as a denial',
    world: { rules: [ALLOW_ALL] },
    target: 'api_nope',
    expect: 'TOOL_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['tool.call', 'deny', 'TOOL_NOT_FOUND']],
  },
  {
    name: 'a tool no rule shows looks exactly like an unknown one',
    world: { rules: [ALLOW_TEXT] },
    target: 'api_echo',
    expect: 'TOOL_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['tool.call', 'deny', 'TOOL_NOT_FOUND']],
  },
  {
    name: 'arguments the tool does not take are refused before the decision',
    world: { rules: [ALLOW_TEXT] },
    target: 'api_text',
    args: { unexpected: true },
    expect: 'INVALID_ARGUMENTS',
    thrown: true,
    backend: false,
    records: [['tool.call', 'deny', 'INVALID_ARGUMENTS']],
  },
  {
    name: 'a deny rule wins over an allow',
    world: {
      rules: [ALLOW_ALL, { id: 'no-get-text', effect: 'deny', tools: ['api_text'], http: { methods: ['GET'] } }],
    },
    target: 'api_text',
    expect: 'POLICY_DENIED',
    backend: false,
    records: [['tool.call', 'deny', 'POLICY_DENIED']],
  },
  {
    name: 'approve without an approval queue is refused (fail closed)',
    world: { rules: [ALLOW_ALL, { id: 'ask', effect: 'approve', tools: ['api_text'] }] },
    target: 'api_text',
    expect: 'APPROVAL_REQUIRED',
    backend: false,
    records: [['tool.call', 'approve', 'APPROVAL_REQUIRED']],
  },
  {
    name: 'an ended task stops at once',
    world: { rules: [ALLOW_TEXT], task: 'ended' },
    target: 'api_text',
    expect: 'TASK_ENDED',
    backend: false,
    records: [['tool.call', 'deny', 'TASK_ENDED']],
  },
  {
    name: 'a task store that cannot answer is an outage, not an ended task',
    world: { rules: [ALLOW_TEXT], task: 'store down' },
    target: 'api_text',
    expect: 'STORE_UNAVAILABLE',
    backend: false,
    records: [['tool.call', 'error', 'STORE_UNAVAILABLE']],
  },
  {
    name: 'a reached rate limit refuses the call',
    world: {
      rules: [{ id: 'limited', effect: 'allow', tools: ['api_text'], rateLimit: { calls: 1, per: '1m' } }],
      limiter: 'counting',
    },
    target: 'api_text',
    warmup: 1,
    expect: 'RATE_LIMITED',
    backend: false,
    records: [['tool.call', 'deny', 'RATE_LIMITED']],
  },
  {
    name: 'a rate-limit counter that cannot answer is an outage, not a limit',
    world: {
      rules: [{ id: 'limited', effect: 'allow', tools: ['api_text'], rateLimit: { calls: 5, per: '1m' } }],
      limiter: 'down',
    },
    target: 'api_text',
    expect: 'STORE_UNAVAILABLE',
    backend: false,
    records: [['tool.call', 'error', 'STORE_UNAVAILABLE']],
  },
  {
    name: 'no decision record, no call (write-ahead audit)',
    world: { rules: [ALLOW_TEXT], audit: 'intent fails' },
    target: 'api_text',
    expect: 'AUDIT_UNAVAILABLE',
    backend: false,
    records: [['tool.call', 'error', 'AUDIT_UNAVAILABLE']],
  },
  {
    name: 'an egress denial is recorded as a denial after the intent',
    world: { rules: [ALLOW_TEXT], egress: 'denied' },
    target: 'api_text',
    expect: 'EGRESS_DENIED',
    backend: false,
    records: [
      ['call.intent', 'allow', undefined],
      ['tool.call', 'deny', 'EGRESS_DENIED'],
    ],
  },
  {
    name: 'labels that cannot be remembered withhold the result',
    world: {
      rules: [{ id: 'reads-pii', effect: 'allow', tools: ['api_text'], labels: { reads: ['pii'] } }],
      task: 'labels fail',
    },
    target: 'api_text',
    expect: 'STORE_UNAVAILABLE',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['tool.call', 'error', 'STORE_UNAVAILABLE'],
    ],
  },
  {
    name: 'elevation tool: asking about an allowed call answers at once, files nothing and sends nothing',
    operation: 'elevation/request',
    world: { rules: [ALLOW_TEXT] },
    target: 'api_text',
    expect: 'ok',
    backend: false,
    records: [['elevation.request', 'allow', undefined]],
  },
  {
    name: 'elevation tool: asking about an unknown tool is the caller mistake',
    operation: 'elevation/request',
    world: { rules: [ALLOW_TEXT] },
    target: 'api_nope',
    expect: 'TOOL_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['elevation.request', 'deny', 'TOOL_NOT_FOUND']],
  },
  {
    name: 'elevation tool: without an approval queue a call that needs approval is refused',
    operation: 'elevation/request',
    world: { rules: [ALLOW_ALL, { id: 'ask', effect: 'approve', tools: ['api_text'] }] },
    target: 'api_text',
    expect: 'APPROVAL_REQUIRED',
    backend: false,
    records: [['elevation.request', 'approve', 'APPROVAL_REQUIRED']],
  },
  {
    name: 'resources/read: an allowed resource is recorded ahead, read, and recorded with its outcome',
    operation: 'resources/read',
    world: { rules: [ALLOW_ITEMS] },
    target: 'fixture://items/42',
    expect: 'ok',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['resource.read', 'allow', undefined],
    ],
  },
  {
    name: 'resources/read: a resource no rule allows looks exactly like an unknown one (default deny)',
    operation: 'resources/read',
    world: { rules: [ALLOW_ALL] },
    target: 'fixture://items/42',
    expect: 'RESOURCE_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['resource.read', 'deny', 'RESOURCE_NOT_FOUND']],
  },
  {
    name: 'resources/read: approve without an approval queue is refused (fail closed)',
    operation: 'resources/read',
    world: { rules: [{ id: 'ask-items', effect: 'approve', resources: ['fixture://items/*'] }] },
    target: 'fixture://items/42',
    expect: 'APPROVAL_REQUIRED',
    thrown: true,
    backend: false,
    records: [['resource.read', 'approve', 'APPROVAL_REQUIRED']],
  },
  {
    name: 'resources/read: no decision record, no read (write-ahead audit)',
    operation: 'resources/read',
    world: { rules: [ALLOW_ITEMS], audit: 'intent fails' },
    target: 'fixture://items/42',
    expect: 'AUDIT_UNAVAILABLE',
    thrown: true,
    backend: false,
    records: [['resource.read', 'error', 'AUDIT_UNAVAILABLE']],
  },
  {
    name: 'resources/read: an ended task stops at once',
    operation: 'resources/read',
    world: { rules: [ALLOW_ITEMS], task: 'ended' },
    target: 'fixture://items/42',
    expect: 'TASK_ENDED',
    thrown: true,
    backend: false,
    records: [['resource.read', 'deny', 'TASK_ENDED']],
  },
  {
    name: 'resources/subscribe: an allowed resource is subscribed upstream',
    operation: 'resources/subscribe',
    world: { rules: [ALLOW_ITEMS] },
    target: 'fixture://items/7',
    expect: 'ok',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['resource.subscribe', 'allow', undefined],
    ],
  },
  {
    name: 'resources/subscribe: a denied resource looks exactly like an unknown one',
    operation: 'resources/subscribe',
    world: { rules: [ALLOW_ITEMS, { id: 'no-7', effect: 'deny', resources: ['fixture://items/7'] }] },
    target: 'fixture://items/7',
    expect: 'RESOURCE_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['resource.subscribe', 'deny', 'RESOURCE_NOT_FOUND']],
  },
  {
    name: 'prompts/get: an allowed prompt is recorded ahead, got, and recorded with its outcome',
    operation: 'prompts/get',
    world: { rules: [ALLOW_GREET] },
    target: 'up_greet',
    args: { name: 'ada' },
    expect: 'ok',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['prompt.get', 'allow', undefined],
    ],
  },
  {
    name: 'prompts/get: a prompt no rule allows looks exactly like an unknown one (default deny)',
    operation: 'prompts/get',
    world: { rules: [ALLOW_ITEMS] },
    target: 'up_greet',
    args: { name: 'ada' },
    expect: 'PROMPT_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['prompt.get', 'deny', 'PROMPT_NOT_FOUND']],
  },
  {
    name: 'completion/complete: completions of an allowed prompt come from the upstream',
    operation: 'completion/complete',
    world: { rules: [ALLOW_GREET] },
    target: 'up_greet',
    args: COMPLETE_GREET,
    expect: 'ok',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['completion.complete', 'allow', undefined],
    ],
  },
  {
    name: 'completion/complete: a denied prompt completes to nothing, recorded as the denial it is',
    operation: 'completion/complete',
    world: { rules: [ALLOW_ITEMS] },
    target: 'up_greet',
    args: COMPLETE_GREET,
    expect: 'empty',
    backend: false,
    records: [['completion.complete', 'deny', 'POLICY_DENIED']],
  },
  {
    name: 'completion/complete: a prompt that needs approval completes to nothing and files no request',
    operation: 'completion/complete',
    world: { rules: [{ id: 'ask-greet', effect: 'approve', prompts: ['up_greet'] }] },
    target: 'up_greet',
    args: COMPLETE_GREET,
    expect: 'empty',
    backend: false,
    records: [['completion.complete', 'approve', 'APPROVAL_REQUIRED']],
  },
];

const ctx: CallContext = {
  principal: { agentId: 'agent-1', roles: [], authMethod: 'api-key' },
  task: { id: 'task-1' },
  signal: new AbortController().signal,
  meta: {},
};

/** Runs the row's operation; returns the stable code the agent sees, and whether it was thrown. */
async function runRow(pipeline: Pipeline, row: Row): Promise<{ code: string; thrown: boolean }> {
  const args = (row.args ?? {}) as JsonObject;
  try {
    switch (row.operation ?? 'tools/call') {
      case 'tools/call':
      case 'elevation/request': {
        const run = row.operation === 'elevation/request' ? pipeline.requestElevation : pipeline.callTool;
        const result = await run(row.target, args, ctx);
        return { code: result.isError === true ? String(result._meta?.['portcullis/code']) : 'ok', thrown: false };
      }
      case 'resources/read':
        await pipeline.readResource(row.target, ctx);
        break;
      case 'resources/subscribe':
        await pipeline.subscribeResource(row.target, ctx);
        break;
      case 'prompts/get':
        await pipeline.getPrompt(row.target, args as Record<string, string>, ctx);
        break;
      case 'completion/complete': {
        const result = (await pipeline.complete(args, ctx)) as { completion: { values: string[] } };
        return { code: result.completion.values.length === 0 ? 'empty' : 'ok', thrown: false };
      }
    }
    return { code: 'ok', thrown: false };
  } catch (error) {
    assert.ok(error instanceof GatewayError, String(error));
    return { code: error.code, thrown: true };
  }
}

describe('pipeline table (docs/design.md section 2)', () => {
  let backend: HttpBackend;
  let upstream: UpstreamHttp;
  let catalog: Catalog;
  /** Requests that reached the HTTP backend or the MCP upstream (reads, prompts, subscriptions, completions). */
  const contacted = () => backend.requests.length + upstream.events.length;

  before(async () => {
    backend = await startHttpBackend();
    upstream = await startUpstreamHttp();
    const mcp = createMcpConnector(
      { id: 'up', kind: 'mcp', transport: 'http', url: upstream.url },
      { fetch: (input, init) => fetch(input, init), onLog: () => undefined, onResourceUpdated: () => undefined },
    );
    await mcp.start();
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: backend.url,
      tools: [
        {
          name: 'text',
          method: 'GET',
          path: '/text',
          inputSchema: { type: 'object', properties: {}, additionalProperties: false },
        },
        { name: 'echo', method: 'GET', path: '/echo', inputSchema: { type: 'object', properties: {} } },
      ],
    });
    catalog = createCatalog({
      connectors: [connector, mcp],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
  });
  after(async () => {
    catalog?.close();
    await Promise.all(catalog?.connectors().map((c) => c.close()) ?? []);
    await backend?.close();
    await upstream?.close();
  });

  it('covers every operation', () => {
    const lists = buildStepLists({
      catalog,
      policy: { current: () => compilePolicy([]) },
      egress: egressFor({ rules: [] }),
      audit: auditFor({ rules: [] }, []),
      flushAuditBeforeResponse: true,
      callTimeoutMs: 5000,
    });
    assert.deepEqual([...new Set(table.map((row) => row.operation ?? 'tools/call'))].sort(), Object.keys(lists).sort());
  });

  for (const row of table) {
    it(row.name, async () => {
      const written: AuditRecordInput[] = [];
      const pipeline = createPipeline({
        catalog,
        policy: { current: () => compilePolicy([], { extraRules: row.world.rules }) },
        egress: egressFor(row.world),
        audit: auditFor(row.world, written),
        ...(row.world.task !== undefined ? { tasks: tasksFor(row.world.task) } : {}),
        ...(row.world.limiter !== undefined ? { rateLimiter: limiterFor(row.world.limiter) } : {}),
        flushAuditBeforeResponse: true,
        callTimeoutMs: 5000,
      });
      for (let i = 0; i < (row.warmup ?? 0); i++) await runRow(pipeline, row);
      written.length = 0;
      const before = contacted();

      const { code, thrown } = await runRow(pipeline, row);

      assert.equal(code, row.expect);
      assert.equal(thrown, row.thrown === true, 'thrown (JSON-RPC error) rather than answered as a result');
      assert.equal(contacted() > before, row.backend, 'backend contacted');
      assert.deepEqual(
        written.map((r) => [r.event, r.decision, r.code]),
        row.records,
      );
      const operation = row.operation ?? 'tools/call';
      for (const record of written) {
        if (operation === 'tools/call' || operation === 'elevation/request') assert.equal(record.tool, row.target);
        else assert.equal(record.operation, `${operation} ${row.target}`);
        assert.equal(record.agentId, 'agent-1');
        assert.equal(record.taskId, 'task-1');
      }
    });
  }

  it('a completion never opens an approval request, even with an approval queue', async () => {
    const queue = createMemoryApprovalQueue({});
    const written: AuditRecordInput[] = [];
    const rules = [{ id: 'ask-greet', effect: 'approve', prompts: ['up_greet'] }];
    const pipeline = createPipeline({
      catalog,
      policy: { current: () => compilePolicy([], { extraRules: rules }) },
      egress: egressFor({ rules }),
      audit: auditFor({ rules }, written),
      elevation: {
        queue,
        grants: createMemoryGrantStore(),
        audit: auditFor({ rules }, written),
        config: ApprovalsSchema.parse({ mode: 'return' }),
        redactArgs: (args) => args,
      },
      flushAuditBeforeResponse: true,
      callTimeoutMs: 5000,
    });
    const before = contacted();
    const result = (await pipeline.complete(COMPLETE_GREET, ctx)) as { completion: { values: string[] } };
    assert.deepEqual(result.completion.values, []);
    assert.equal(contacted(), before, 'nothing reached the upstream');
    assert.deepEqual(await queue.list({}), [], 'no approval request was filed');
    assert.deepEqual(
      written.map((r) => [r.event, r.decision, r.code, r.rules]),
      [['completion.complete', 'approve', 'APPROVAL_REQUIRED', ['ask-greet']]],
    );
    assert.match(written[0]?.reason ?? '', /completions are withheld/);
    // The same prompt itself goes to the queue as usual (here: pending, answered at once in `return` mode).
    await assert.rejects(pipeline.getPrompt('up_greet', { name: 'ada' }, ctx), { code: 'APPROVAL_PENDING' });
    assert.equal((await queue.list({})).length, 1);
    await queue.close();
  });

  it(
    'a call with deferApproval files its request and answers APPROVAL_PENDING at once, even in wait mode',
    {
      timeout: 30_000,
    },
    async () => {
      const queue = createMemoryApprovalQueue({});
      const written: AuditRecordInput[] = [];
      const rules = [{ id: 'ask-greet', effect: 'approve', prompts: ['up_greet'] }];
      const pipeline = createPipeline({
        catalog,
        policy: { current: () => compilePolicy([], { extraRules: rules }) },
        egress: egressFor({ rules }),
        audit: auditFor({ rules }, written),
        elevation: {
          queue,
          grants: createMemoryGrantStore(),
          audit: auditFor({ rules }, written),
          // A wait this long outlasts the test's timeout: only deferApproval answers at once.
          config: ApprovalsSchema.parse({ mode: 'wait', waitSeconds: 600 }),
          redactArgs: (args) => args,
        },
        flushAuditBeforeResponse: true,
        callTimeoutMs: 5000,
      });
      const before = contacted();
      await assert.rejects(
        pipeline.getPrompt('up_greet', { name: 'ada' }, { ...ctx, deferApproval: true }),
        (error) => {
          assert.equal((error as GatewayError).code, 'APPROVAL_PENDING');
          assert.equal(typeof (error as GatewayError).details?.['approvalId'], 'string', 'it names the request');
          return true;
        },
      );
      assert.equal((await queue.list({ status: 'pending' })).length, 1);
      assert.equal(contacted(), before, 'nothing reached the upstream');
      await queue.close();
    },
  );

  it('times every policy decision into portcullis_policy_evaluation_seconds, and nothing that was not decided', async () => {
    const metrics = createMetrics();
    const world: World = {
      rules: [
        ALLOW_ALL,
        ALLOW_ITEMS,
        { id: 'no-get-echo', effect: 'deny', tools: ['api_echo'], http: { methods: ['GET'] } },
      ],
    };
    const pipeline = createPipeline({
      catalog,
      policy: { current: () => compilePolicy([], { extraRules: world.rules }) },
      egress: egressFor(world),
      audit: auditFor(world, []),
      flushAuditBeforeResponse: true,
      callTimeoutMs: 5000,
      metrics,
    });
    const evaluations = async (): Promise<number> => {
      const match = /^portcullis_policy_evaluation_seconds_count (\d+)$/m.exec(await metrics.metricsText());
      return match === null ? 0 : Number(match[1]);
    };
    assert.equal((await pipeline.callTool('api_text', {}, ctx)).isError, undefined, 'an allowed call');
    assert.equal(await evaluations(), 1);
    const denied = await pipeline.callTool('api_echo', {}, ctx);
    assert.equal(denied._meta?.['portcullis/code'], 'POLICY_DENIED', 'a denied call');
    assert.equal(await evaluations(), 2);
    await pipeline.readResource('fixture://items/1', ctx);
    assert.equal(await evaluations(), 3, 'a resource read is decided, and timed, too');
    await assert.rejects(pipeline.callTool('api_nope', {}, ctx), { code: 'TOOL_NOT_FOUND' });
    assert.equal(await evaluations(), 3, 'an unknown tool is never put to the policy');
  });

  it('counts a call as active from its first step to its last record, whatever its outcome', async () => {
    const activeCalls = createActiveCalls();
    const seen: [string, number][] = [];
    const world: World = { rules: [ALLOW_TEXT] };
    const written: AuditRecordInput[] = [];
    const recording = auditFor(world, written);
    const pipelineWith = (audit: AuditSink): Pipeline =>
      createPipeline({
        catalog,
        policy: { current: () => compilePolicy([], { extraRules: world.rules }) },
        egress: egressFor(world),
        audit: {
          ...audit,
          async append(record, options) {
            seen.push([record.event, activeCalls.count()]);
            await audit.append(record, options);
          },
        },
        flushAuditBeforeResponse: true,
        callTimeoutMs: 5000,
        activeCalls,
      });
    const pipeline = pipelineWith(recording);

    // One call: both its records are written while it alone is counted.
    assert.equal((await pipeline.callTool('api_text', {}, ctx)).isError, undefined);
    assert.deepEqual(seen, [
      ['call.intent', 1],
      ['tool.call', 1],
    ]);
    assert.equal(activeCalls.count(), 0);

    // Two at once: a record written while the other is in progress sees both.
    seen.length = 0;
    await Promise.all([pipeline.callTool('api_text', {}, ctx), pipeline.callTool('api_text', {}, ctx)]);
    assert.equal(seen.length, 4);
    assert.equal(Math.max(...seen.map(([, count]) => count)), 2);
    assert.equal(activeCalls.count(), 0);

    // Thrown as the caller's mistake (a tool, a resource this agent cannot see), or failed on the write-ahead
    // record: released all the same.
    await assert.rejects(pipeline.callTool('api_nope', {}, ctx), { code: 'TOOL_NOT_FOUND' });
    await assert.rejects(pipeline.readResource('fixture://items/1', ctx), { code: 'RESOURCE_NOT_FOUND' });
    const failing = pipelineWith(auditFor({ ...world, audit: 'intent fails' }, []));
    assert.equal((await failing.callTool('api_text', {}, ctx)).isError, true);
    assert.equal(activeCalls.count(), 0);
  });

  it('records the rules and policy version that decided, on the intent and the outcome', async () => {
    const written: AuditRecordInput[] = [];
    const pipeline = createPipeline({
      catalog,
      policy: { current: () => compilePolicy([], { extraRules: [ALLOW_TEXT] }) },
      egress: egressFor({ rules: [] }),
      audit: auditFor({ rules: [] }, written),
      flushAuditBeforeResponse: true,
      callTimeoutMs: 5000,
    });
    await pipeline.callTool('api_text', {}, ctx);
    assert.deepEqual(
      written.map((r) => r.rules),
      [['allow-text'], ['allow-text']],
    );
    assert.equal(new Set(written.map((r) => r.argsHash)).size, 1, 'both records name the same arguments');
  });
});

describe('runner', () => {
  const state = (): CallState =>
    ({
      operation: 'tools/call',
      name: 't',
      args: {},
      ctx,
      span: { setAttribute() {}, setAttributes() {}, setStatus() {}, isRecording: () => false },
      started: 0,
      record: { event: 'tool.call' },
      task: ctx.task,
      elevated: false,
      intentRecorded: false,
    }) as unknown as CallState;

  function trail(log: string[]): Step[] {
    return [
      { name: 'a', run: () => void log.push('a') },
      {
        name: 'b',
        run: (s) =>
          s.elevated
            ? void log.push('b')
            : {
                suspend: { step: 'b', reason: 'approval-pending', error: new GatewayError('APPROVAL_PENDING', 'wait') },
              },
      },
      { name: 'c', run: () => void log.push('c') },
      { name: 'close', closing: true, run: () => void log.push('close') },
    ];
  }

  it('suspends with a resume point, and resuming continues the same list from there', async () => {
    const log: string[] = [];
    const s = state();
    const first = await runSteps(trail(log), s);
    assert.equal(first.status, 'suspended');
    assert.equal(first.status === 'suspended' && first.resume.step, 'b');
    assert.deepEqual(log, ['a', 'close']);

    log.length = 0;
    s.elevated = true;
    const second = await runSteps(trail(log), s, { from: 'b' });
    assert.equal(second.status, 'completed');
    assert.deepEqual(log, ['b', 'c', 'close'], 'steps before the resume point do not run again');
  });

  it('a step that throws ends the run as INTERNAL (never a policy outcome), logs it, and still closes', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    const steps: Step[] = [
      {
        name: 'buggy',
        run: () => {
          throw new TypeError('undefined is not a function');
        },
      },
      { name: 'after', run: () => void log.push('after') },
      { name: 'close', closing: true, run: () => void log.push('close') },
    ];
    const outcome = await runSteps(steps, state(), { onError: (_e, where) => errors.push(where) });
    assert.equal(outcome.status, 'ended');
    assert.equal(outcome.status === 'ended' && outcome.error.code, 'INTERNAL');
    assert.doesNotMatch(outcome.status === 'ended' ? outcome.error.message : '', /not a function/);
    assert.deepEqual(log, ['close']);
    assert.deepEqual(errors, ['step buggy']);
  });

  it('skips steps whose condition does not hold, and rejects an unknown resume point', async () => {
    const log: string[] = [];
    const steps: Step[] = [
      { name: 'skipped', when: () => false, run: () => void log.push('skipped') },
      { name: 'runs', run: () => void log.push('runs') },
    ];
    assert.equal((await runSteps(steps, state())).status, 'completed');
    assert.deepEqual(log, ['runs']);
    await assert.rejects(runSteps(steps, state(), { from: 'nowhere' }), /unknown resume point/);
  });
});

function egressFor(world: World): EgressProvider {
  if (world.egress === 'denied') {
    return {
      fetchFor: () => async () => {
        throw new EgressError('EGRESS_DENIED', 'egress to backend denied: no rule allows it');
      },
    };
  }
  return { fetchFor: () => (input, init) => fetch(input, init) };
}

function auditFor(world: World, written: AuditRecordInput[]): AuditSink {
  return {
    async append(record) {
      if (world.audit === 'intent fails' && record.event === 'call.intent') throw new Error('disk full');
      written.push(record);
    },
    flush: async () => {},
    close: async () => {},
  };
}

function tasksFor(mode: NonNullable<World['task']>): TaskStateSource {
  return {
    async current() {
      if (mode === 'store down') throw Object.assign(new Error('redis unreachable'), { code: 'STORE_UNAVAILABLE' });
      return mode === 'ended' ? { live: false, labelsRead: [] } : { live: true, labelsRead: [] };
    },
    async addLabels() {
      if (mode === 'labels fail') throw new Error('redis unreachable');
    },
    async countCall() {},
  };
}

function limiterFor(mode: NonNullable<World['limiter']>): RateLimiter {
  const counts = new Map<string, number>();
  return {
    async hit(key, limit) {
      if (mode === 'down') throw new Error('redis unreachable');
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      return count <= limit;
    },
  };
}
