/**
 * The pipeline section of docs/design.md as a table: for each situation, which answer the agent gets, whether
 * the backend is contacted, and which audit records are written. The connector is the real HTTP connector
 * in front of the fixture backend (a real server on port 0); policy is the real engine. Stores, counters
 * and the audit sink are small in-memory stand-ins whose failures are the point of some rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttpConnector } from '../../connectors/http/index.js';
import { EgressError } from '../../connectors/errors.js';
import { compilePolicy } from '../../policies/index.js';
import { startHttpBackend, type HttpBackend } from '../../test/fixtures/http-backend.js';
import { GatewayError } from '../kernel/index.js';
import type { AuditRecordInput, AuditSink } from '../services/audit/index.js';
import { createCatalog, type Catalog } from '../services/catalog/index.js';
import type { RateLimiter } from '../services/ratelimit/index.js';
import type { TaskStateSource } from '../services/tasks/index.js';
import type { CallContext, CallState } from './call-state.js';
import { createPipeline, type EgressProvider } from './index.js';
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
  world: World;
  tool: string;
  args?: Record<string, unknown>;
  /** Calls made before the one checked (rate limits). */
  warmup?: number;
  /** The stable code the agent sees (tool result or thrown), or `ok`. */
  expect: string;
  /** Thrown as a caller error (JSON-RPC) rather than answered as a tool result. */
  thrown?: boolean;
  backend: boolean;
  /** [event, decision, code] of the records this call wrote. */
  records: [string, string, string | undefined][];
}

const ALLOW_TEXT = { id: 'allow-text', effect: 'allow', tools: ['api_text'] };
const ALLOW_ALL = { id: 'allow-all', effect: 'allow', tools: ['api_*'] };

const table: Row[] = [
  {
    name: 'an allowed call is recorded ahead, made, and recorded with its outcome',
    world: { rules: [ALLOW_TEXT] },
    tool: 'api_text',
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
    tool: 'api_nope',
    expect: 'TOOL_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['tool.call', 'deny', 'TOOL_NOT_FOUND']],
  },
  {
    name: 'a tool no rule shows looks exactly like an unknown one',
    world: { rules: [ALLOW_TEXT] },
    tool: 'api_echo',
    expect: 'TOOL_NOT_FOUND',
    thrown: true,
    backend: false,
    records: [['tool.call', 'deny', 'TOOL_NOT_FOUND']],
  },
  {
    name: 'arguments the tool does not take are refused before the decision',
    world: { rules: [ALLOW_TEXT] },
    tool: 'api_text',
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
    tool: 'api_text',
    expect: 'POLICY_DENIED',
    backend: false,
    records: [['tool.call', 'deny', 'POLICY_DENIED']],
  },
  {
    name: 'approve without an approval queue is refused (fail closed)',
    world: { rules: [ALLOW_ALL, { id: 'ask', effect: 'approve', tools: ['api_text'] }] },
    tool: 'api_text',
    expect: 'APPROVAL_REQUIRED',
    backend: false,
    records: [['tool.call', 'approve', 'APPROVAL_REQUIRED']],
  },
  {
    name: 'an ended task stops at once',
    world: { rules: [ALLOW_TEXT], task: 'ended' },
    tool: 'api_text',
    expect: 'TASK_ENDED',
    backend: false,
    records: [['tool.call', 'deny', 'TASK_ENDED']],
  },
  {
    name: 'a task store that cannot answer is an outage, not an ended task',
    world: { rules: [ALLOW_TEXT], task: 'store down' },
    tool: 'api_text',
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
    tool: 'api_text',
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
    tool: 'api_text',
    expect: 'STORE_UNAVAILABLE',
    backend: false,
    records: [['tool.call', 'error', 'STORE_UNAVAILABLE']],
  },
  {
    name: 'no decision record, no call (write-ahead audit)',
    world: { rules: [ALLOW_TEXT], audit: 'intent fails' },
    tool: 'api_text',
    expect: 'AUDIT_UNAVAILABLE',
    backend: false,
    records: [['tool.call', 'error', 'AUDIT_UNAVAILABLE']],
  },
  {
    name: 'an egress denial is recorded as a denial after the intent',
    world: { rules: [ALLOW_TEXT], egress: 'denied' },
    tool: 'api_text',
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
    tool: 'api_text',
    expect: 'STORE_UNAVAILABLE',
    backend: true,
    records: [
      ['call.intent', 'allow', undefined],
      ['tool.call', 'error', 'STORE_UNAVAILABLE'],
    ],
  },
];

const ctx: CallContext = {
  principal: { agentId: 'agent-1', roles: [], authMethod: 'api-key' },
  task: { id: 'task-1' },
  signal: new AbortController().signal,
  meta: {},
};

describe('pipeline table (docs/design.md section 2)', () => {
  let backend: HttpBackend;
  let catalog: Catalog;

  before(async () => {
    backend = await startHttpBackend();
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
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
  });
  after(async () => {
    catalog?.close();
    await backend?.close();
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
      for (let i = 0; i < (row.warmup ?? 0); i++) await pipeline.callTool(row.tool, row.args ?? {}, ctx);
      written.length = 0;
      const before = backend.requests.length;

      let code: string;
      let thrown = false;
      try {
        const result = await pipeline.callTool(row.tool, row.args ?? {}, ctx);
        code = result.isError === true ? String(result._meta?.['portcullis/code']) : 'ok';
      } catch (error) {
        assert.ok(error instanceof GatewayError, String(error));
        code = error.code;
        thrown = true;
      }

      assert.equal(code, row.expect);
      assert.equal(thrown, row.thrown === true, 'thrown (JSON-RPC error) rather than answered as a tool result');
      assert.equal(backend.requests.length > before, row.backend, 'backend contacted');
      assert.deepEqual(
        written.map((r) => [r.event, r.decision, r.code]),
        row.records,
      );
      for (const record of written) {
        assert.equal(record.tool, row.tool);
        assert.equal(record.agentId, 'agent-1');
        assert.equal(record.taskId, 'task-1');
      }
    });
  }

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
