/**
 * One trace per task for tasks that outlive a connection, end to end: a gateway child process exports to a
 * real OTLP receiver while an agent works
 * - in the 2026-07-28 era, under the implicit task its first request started and whose handle it echoes,
 * - under a task opened through the tasks API, from a 2025 session and from a 2026-07-28 request alike.
 * Every call of a task must be a child of that task's one `task {intent}` span, whichever request, session
 * or era made it; a request that starts a new task starts a new trace; the agent's own trace is a link.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { GET_USER_TOOL, startHttpBackend } from './fixtures/http-backend.js';
import { startGatewayProcess, type GatewayProcess } from './fixtures/gateway-process.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './fixtures/otlp-receiver.js';
import { modernPost, type ModernAnswer } from './helpers/modern.js';

type Backend = Awaited<ReturnType<typeof startHttpBackend>>;

const TOOL = 'api_get_user';
const TASK_HANDLE = 'portcullis/task';
const AGENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const AGENT_SPAN_ID = '00f067aa0ba902b7';
const OPENER_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const OPENER_SPAN_ID = 'b7ad6b7169203331';
const INTENT = 'look up user 7 for a ticket';

describe('one trace per task, for tasks that outlive a connection', () => {
  let receiver: OtlpReceiver;
  let backend: Backend;
  let gateway: GatewayProcess;
  const agentKey = generateApiKey();
  const answers: Record<string, ModernAnswer> = {};
  let sessionCallOk = false;
  let spans: ReceivedSpan[] = [];
  let backendBefore = 0;

  const call = (key: string, meta: Record<string, unknown> = {}, id = 7): Promise<ModernAnswer> =>
    modernPost(gateway.mcpUrl, 'tools/call', { name: TOOL, arguments: { id } }, { key, meta });

  before(async () => {
    receiver = await startOtlpReceiver();
    backend = await startHttpBackend();
    gateway = await startGatewayProcess({
      config: (dir) => ({
        listen: { host: '127.0.0.1', port: 0 },
        connectors: [
          {
            id: 'api',
            kind: 'http',
            baseUrl: backend.url,
            tools: [GET_USER_TOOL],
          },
        ],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.0/8'] } } },
        agents: [{ id: 'trace-agent', apiKeys: [{ sha256: digestApiKey(agentKey) }], tools: ['*'] }],
        audit: { file: path.join(dir, 'audit.jsonl') },
        telemetry: { enabled: true, serviceName: 'portcullis-task-traces', otlpEndpoint: receiver.url, sampleRatio: 1 },
      }),
      env: { OTEL_BSP_SCHEDULE_DELAY: '100' },
    });
    backendBefore = backend.requests.length;

    // 2026-07-28: the first request starts an implicit task, the second echoes its handle (and carries the
    // agent's own trace), the third starts another task.
    answers['first'] = await call(agentKey, {}, 1);
    const handle = answers['first'].body.result?.['_meta'] as Record<string, unknown> | undefined;
    answers['second'] = await call(
      agentKey,
      { [TASK_HANDLE]: handle?.[TASK_HANDLE], traceparent: `00-${AGENT_TRACE_ID}-${AGENT_SPAN_ID}-01` },
      2,
    );
    answers['other'] = await call(agentKey, {}, 3);

    // A task opened through the tasks API, inside the opener's trace; used from a 2025 session and from a
    // 2026-07-28 request with its token.
    const opened = await fetch(`${gateway.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${agentKey}`,
        'content-type': 'application/json',
        traceparent: `00-${OPENER_TRACE_ID}-${OPENER_SPAN_ID}-01`,
      },
      body: JSON.stringify({ intent: INTENT, ttlSeconds: 600 }),
    });
    assert.equal(opened.status, 201);
    const { token } = (await opened.json()) as { token: string };
    const { client, transport } = await gateway.connect(token);
    const result = (await client.callTool({ name: TOOL, arguments: { id: 4 } })) as { isError?: boolean };
    sessionCallOk = result.isError !== true;
    await transport.terminateSession();
    await client.close();
    answers['token'] = await call(token, {}, 5);

    spans = await receiver.waitForSpans(
      (all) =>
        all.filter((s) => s.name === `tools/call ${TOOL}`).length >= 5 &&
        all.filter((s) => s.name.startsWith('task')).length >= 3,
    );
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await receiver?.close();
  });

  /** The call span whose backend request asked for user `id`. */
  const callSpanFor = (id: number): ReceivedSpan => {
    const backendSpan = spans.find((s) => s.name === 'backend.request' && s.attributes['url.path'] === `/users/${id}`);
    assert.ok(
      backendSpan !== undefined,
      `a backend span for user ${id}; spans: ${spans.map((s) => s.name).join(', ')}`,
    );
    const callSpan = spans.find((s) => s.spanId === backendSpan.parentSpanId);
    assert.ok(callSpan !== undefined && callSpan.name === `tools/call ${TOOL}`, `the call span of user ${id}`);
    return callSpan;
  };
  const taskSpansOf = (taskId: unknown): ReceivedSpan[] =>
    spans.filter((s) => s.name.startsWith('task') && s.attributes['portcullis.task.id'] === taskId);

  it('answers every call, each of which reached the backend', () => {
    for (const [name, answer] of Object.entries(answers)) {
      assert.equal(answer.status, 200, name);
      assert.notEqual(answer.body.result?.['isError'], true, `${name}: ${JSON.stringify(answer.body)}`);
    }
    assert.ok(sessionCallOk, 'the 2025 session call succeeded');
    assert.deepEqual(
      backend.requests.slice(backendBefore).map((r) => r.url),
      ['/users/1', '/users/2', '/users/3', '/users/4', '/users/5'],
    );
  });

  it('puts the calls of a 2026-07-28 task, made by separate requests, under the one task span', () => {
    const first = callSpanFor(1);
    const second = callSpanFor(2);
    const taskId = first.attributes['portcullis.task.id'];
    assert.equal(second.attributes['portcullis.task.id'], taskId, 'the echoed handle kept the task');
    const tasks = taskSpansOf(taskId);
    assert.equal(tasks.length, 1, 'one task span for the task');
    const task = tasks[0]!;
    assert.equal(task.name, 'task MCP session');
    assert.equal(task.parentSpanId, undefined, 'the task span is the root of its trace');
    assert.equal(task.attributes['portcullis.agent.id'], 'trace-agent');
    for (const span of [first, second]) {
      assert.equal(span.traceId, task.traceId, 'the call is in the task trace');
      assert.equal(span.parentSpanId, task.spanId, 'the call is a child of the task span');
    }
    // The agent's own trace is a link, not the parent.
    assert.deepEqual(
      second.links.map((l) => [l.traceId, l.spanId]),
      [[AGENT_TRACE_ID, AGENT_SPAN_ID]],
    );
  });

  it('starts another trace for a request that starts another task', () => {
    const first = callSpanFor(1);
    const other = callSpanFor(3);
    const taskId = other.attributes['portcullis.task.id'];
    assert.notEqual(taskId, first.attributes['portcullis.task.id']);
    const tasks = taskSpansOf(taskId);
    assert.equal(tasks.length, 1);
    assert.notEqual(other.traceId, first.traceId);
    assert.equal(other.traceId, tasks[0]!.traceId);
    assert.equal(other.parentSpanId, tasks[0]!.spanId);
  });

  it("puts a task's calls from a 2025 session and a 2026-07-28 request under its one span, in the opener's trace", () => {
    const fromSession = callSpanFor(4);
    const fromRequest = callSpanFor(5);
    const taskId = fromSession.attributes['portcullis.task.id'];
    assert.equal(typeof taskId, 'string');
    assert.equal(fromRequest.attributes['portcullis.task.id'], taskId, 'the token names the same task');
    const tasks = taskSpansOf(taskId);
    assert.equal(tasks.length, 1, 'one task span, none of the session');
    const task = tasks[0]!;
    assert.equal(task.name, `task ${INTENT}`);
    assert.equal(task.attributes['portcullis.task.intent'], INTENT);
    assert.equal(task.traceId, OPENER_TRACE_ID, 'the task joined the trace of the request that opened it');
    assert.equal(task.parentSpanId, OPENER_SPAN_ID);
    for (const span of [fromSession, fromRequest]) {
      assert.equal(span.traceId, task.traceId);
      assert.equal(span.parentSpanId, task.spanId);
    }
  });
});
