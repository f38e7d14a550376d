/**
 * The 2026-07-28 front door, on the wire: stateless requests (no `Mcp-Session-Id`), `server/discover`,
 * header/body validation before any backend work, private caching hints, the task handle, trace context
 * from headers, and `input_required` rounds with the gateway's sealed, single-use request state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Server } from '@modelcontextprotocol/server';
import {
  INITIALIZE,
  rawPost,
  readAudit,
  startGatewayOverHttpUpstream,
  type GatewayOverHttpUpstream,
} from './helpers/gateway.js';
import { eventually } from './helpers/eventually.js';
import { postOnSession } from './helpers/raw-mcp.js';
import { protoWith } from './helpers/prototype-spy.js';
import { MODERN, modernPost } from './helpers/modern.js';
import { respellBase64url } from './helpers/base64url.js';

describe('MCP 2026-07-28 at the front door', () => {
  let gw: GatewayOverHttpUpstream;
  let url: string;
  let key: string;
  const calls = (tool: string) => gw.upstream.events.filter((e) => e.kind === 'call' && e.name === tool).length;

  /**
   * Every task id the gateway's task store is asked for, until `restore`: `reads`, counting a call or not;
   * `countingReads`, those that counted one.
   */
  function spyOnTaskReads(): { reads: string[]; countingReads: string[]; restore(): void } {
    const store = gw.gateway.stores.tasks;
    const read = store.get.bind(store);
    const readCounting = store.getAndCountCall.bind(store);
    const reads: string[] = [];
    const countingReads: string[] = [];
    store.get = async (id) => {
      reads.push(id);
      return read(id);
    };
    store.getAndCountCall = async (id) => {
      reads.push(id);
      countingReads.push(id);
      return readCounting(id);
    };
    return {
      reads,
      countingReads,
      restore: () => {
        store.get = read;
        store.getAndCountCall = readCounting;
      },
    };
  }

  /**
   * Ends `taskId` in the store, then echoes its `handle`: the call is refused TASK_ENDED and nothing reaches
   * the backend.
   */
  async function refusesEndedHandle(taskId: string, handle: unknown, reason: string): Promise<void> {
    await gw.gateway.stores.tasks.end(taskId, reason);
    const echoes = calls('remote_echo');
    const late = await modernPost(
      url,
      'tools/call',
      { name: 'remote_echo', arguments: { text: 'late' } },
      { key, meta: { 'portcullis/task': handle } },
    );
    assert.equal(late.body.error?.data?.['code'], 'TASK_ENDED');
    assert.equal(calls('remote_echo'), echoes, 'nothing reached the backend');
  }

  /** The task the latest `remote_echo` call ran under, from the audit log. */
  async function lastEchoTask(): Promise<string> {
    const records = await readAudit(gw.auditFile);
    return String(records.findLast((r) => r['event'] === 'tool.call' && r['tool'] === 'remote_echo')?.['taskId']);
  }

  before(async () => {
    gw = await startGatewayOverHttpUpstream([
      { id: 'full', tools: ['remote_*'], resources: ['**'], prompts: ['remote_*'] },
      { id: 'echo-only', tools: ['remote_echo'] },
    ]);
    url = gw.gateway.mcpUrl;
    key = gw.agents['full']!.key;
  });
  after(async () => {
    await gw?.close();
  });

  it('answers server/discover statelessly, naming 2026-07-28', async () => {
    const answer = await modernPost(url, 'server/discover', {}, { key });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('mcp-session-id'), null);
    assert.deepEqual(answer.body.result?.['supportedVersions'], [MODERN]);
  });

  it('refuses a request without a credential before anything else', async () => {
    const answer = await modernPost(url, 'tools/list', {});
    assert.equal(answer.status, 401);
  });

  it('lists per principal, with private caching hints', async () => {
    const full = await modernPost(url, 'tools/list', {}, { key });
    const echoOnly = await modernPost(url, 'tools/list', {}, { key: gw.agents['echo-only']!.key });
    assert.equal(full.body.result?.['cacheScope'], 'private');
    assert.equal(full.body.result?.['ttlMs'], 0);
    assert.equal(echoOnly.body.result?.['cacheScope'], 'private');
    const names = (r: typeof full) => (r.body.result?.['tools'] as { name: string }[]).map((t) => t.name);
    assert.ok(names(full).includes('remote_add'));
    assert.deepEqual(names(echoOnly), ['remote_echo']);
  });

  it('refuses a header/body mismatch or a missing header with -32020 before the backend sees it', async () => {
    const before = calls('echo');
    const args = { name: 'remote_echo', arguments: { text: 'x' } };
    const wrongName = await modernPost(url, 'tools/call', args, { key, headers: { 'mcp-name': 'remote_add' } });
    const noName = await modernPost(url, 'tools/call', args, { key, headers: { 'mcp-name': null } });
    const wrongMethod = await modernPost(url, 'tools/call', args, { key, headers: { 'mcp-method': 'tools/list' } });
    for (const answer of [wrongName, noName, wrongMethod]) {
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error?.code, -32020);
    }
    assert.equal(calls('echo'), before, 'nothing reached the upstream');
  });

  it('holds a request that names a session to that session, whatever its body: never served as 2026-07-28', async () => {
    const before = calls('echo');
    const args = { name: 'remote_echo', arguments: { text: 'held' } };
    const unknown = await modernPost(url, 'tools/call', args, {
      key,
      headers: { 'mcp-session-id': 'no-such-session' },
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error?.message, 'Session not found');
    // A live 2025 session of the same agent: the request's 2026-07-28 version is not the session's.
    const opened = await rawPost(url, INITIALIZE, { authorization: `Bearer ${key}` });
    const sessionId = opened.headers.get('mcp-session-id');
    await opened.text();
    assert.equal(opened.status, 200);
    assert.ok(sessionId !== null);
    const mixed = await modernPost(url, 'tools/call', args, { key, headers: { 'mcp-session-id': sessionId } });
    assert.equal(mixed.status, 400);
    assert.match(String(mixed.body.error?.message), /does not match the session's negotiated version/);
    assert.equal(mixed.headers.get('mcp-session-id'), null);
    assert.equal(calls('echo'), before, 'nothing reached the upstream');
  });

  it('cancels the backend call when the agent goes away mid-call, and serves the next request as before', async () => {
    const stackTraceLimit = Error.stackTraceLimit;
    const leaving = new AbortController();
    const call = modernPost(
      url,
      'tools/call',
      { name: 'remote_slow', arguments: { ms: 5000 } },
      { key, signal: leaving.signal },
    );
    await eventually(() => calls('slow') === 1, 'the backend call');
    leaving.abort();
    await assert.rejects(call);
    await eventually(
      () => gw.upstream.events.some((e) => e.kind === 'cancelled' && e.name === 'slow'),
      'its cancellation',
    );
    // Closing the request's server ran as before, and left errors their stacks.
    assert.equal(Error.stackTraceLimit, stackTraceLimit);
    assert.ok((new Error('probe').stack ?? '').includes('mcp-modern-edge.test'));
    const next = await modernPost(url, 'tools/call', { name: 'remote_echo', arguments: { text: 'after' } }, { key });
    assert.equal(next.status, 200);
    assert.equal(next.body.result?.['isError'], undefined);
  });

  it('returns a task handle and keeps the task while the agent echoes it', async () => {
    const first = await modernPost(url, 'tools/call', { name: 'remote_echo', arguments: { text: 'one' } }, { key });
    const handle = (first.body.result?.['_meta'] as Record<string, unknown>)['portcullis/task'];
    assert.equal(typeof handle, 'string');
    const second = await modernPost(
      url,
      'tools/call',
      { name: 'remote_echo', arguments: { text: 'two' } },
      { key, meta: { 'portcullis/task': handle } },
    );
    assert.notEqual(second.body.result?.['isError'], true);
    const records = (await readAudit(gw.auditFile)).filter(
      (r) => r['event'] === 'tool.call' && r['tool'] === 'remote_echo',
    );
    const tasks = new Set(records.slice(-2).map((r) => r['taskId']));
    assert.equal(tasks.size, 1, 'both calls ran under the same task');
    // Another agent cannot use the handle.
    const stolen = await modernPost(
      url,
      'tools/call',
      { name: 'remote_echo', arguments: { text: 'three' } },
      { key: gw.agents['echo-only']!.key, meta: { 'portcullis/task': handle } },
    );
    assert.equal(stolen.body.error?.data?.['code'], 'STATE_MISMATCH');
  });

  it('starts a task that lives 30 minutes past its last request, and refuses its handle once it ended', async () => {
    const before = Date.now();
    const first = await modernPost(url, 'tools/call', { name: 'remote_echo', arguments: { text: 'idle' } }, { key });
    const handle = (first.body.result?.['_meta'] as Record<string, unknown>)['portcullis/task'];
    const taskId = await lastEchoTask();
    const task = await gw.gateway.stores.tasks.get(taskId);
    assert.ok(task !== undefined && task.endedAt === undefined);
    assert.ok(task.expiresAt >= before + 30 * 60_000 && task.expiresAt <= Date.now() + 30 * 60_000, 'idle lifetime');

    await refusesEndedHandle(taskId, handle, 'expired for the test');
  });

  it("reads a call's task from the store once a request, and a handle's ended task still stops the call", async () => {
    const store = gw.gateway.stores.tasks;
    const { reads, restore } = spyOnTaskReads();
    try {
      const first = await modernPost(url, 'tools/call', { name: 'remote_echo', arguments: { text: 'a' } }, { key });
      assert.notEqual(first.body.result?.['isError'], true);
      const handle = (first.body.result?.['_meta'] as Record<string, unknown>)['portcullis/task'];
      const taskId = await lastEchoTask();
      assert.deepEqual(
        reads.filter((id) => id === taskId),
        [],
        'a task the request itself created is not read back',
      );
      for (const text of ['b', 'c']) {
        const next = await modernPost(
          url,
          'tools/call',
          { name: 'remote_echo', arguments: { text } },
          { key, meta: { 'portcullis/task': handle } },
        );
        assert.notEqual(next.body.result?.['isError'], true);
      }
      assert.deepEqual(
        reads.filter((id) => id === taskId),
        [taskId, taskId],
        'each request that echoes the handle reads its task once',
      );
      await refusesEndedHandle(taskId, handle, 'ended for the test');
      assert.equal((await store.get(taskId))?.callCount, 3, 'the calls made are counted, the refused one is not');
    } finally {
      restore();
    }
  });

  it("reads a 2025 session's task on every call, so a task ended after the session opened stops the next one", async () => {
    const store = gw.gateway.stores.tasks;
    const { reads, countingReads, restore } = spyOnTaskReads();
    try {
      const opened = await rawPost(url, INITIALIZE, { authorization: `Bearer ${key}` });
      const session = { id: opened.headers.get('mcp-session-id') ?? '', version: '2025-06-18' };
      await opened.text();
      assert.equal(opened.status, 200);
      const headers = { authorization: `Bearer ${key}` };
      const echo = (id: number) => ({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'remote_echo', arguments: { text: `s${id}` } },
      });
      for (const id of [2, 3]) assert.equal((await postOnSession(url, session, echo(id), headers)).status, 200);
      const taskId = await lastEchoTask();
      assert.equal(reads.filter((id) => id === taskId).length, 2, 'one read a call');
      assert.equal(countingReads.filter((id) => id === taskId).length, 2, 'which counts the call');
      assert.equal((await store.get(taskId))?.callCount, 2);
      await store.end(taskId, 'ended for the test');
      const echoes = calls('remote_echo');
      const late = await postOnSession(url, session, echo(4), headers);
      assert.match(late.body, /TASK_ENDED/);
      assert.equal(calls('remote_echo'), echoes, 'nothing reached the backend');
      assert.equal((await store.get(taskId))?.callCount, 2, 'the refused call is not counted');
    } finally {
      restore();
    }
  });

  it('carries the traceparent header to the backend when _meta names none', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const answer = await modernPost(
      url,
      'tools/call',
      { name: 'remote_meta_echo', arguments: {} },
      {
        key,
        headers: { traceparent },
      },
    );
    assert.match(JSON.stringify(answer.body.result?.['content']), /4bf92f3577b34da6a3ce929d0e0e4736/);
  });

  it('times 2026-07-28 requests in mcp.server.operation.duration with their protocol version', async () => {
    await modernPost(url, 'tools/list', {}, { key });
    const scrape = await (await fetch(`${gw.gateway.baseUrl}/metrics`)).text();
    assert.match(
      scrape,
      /mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="tools\/list"[^}]*mcp_protocol_version="2026-07-28"|mcp_server_operation_duration_seconds_count\{[^}]*mcp_protocol_version="2026-07-28"[^}]*mcp_method_name="tools\/list"/,
    );
  });

  it('serves a tools/call on its long-lived server: no server is connected for the request, as one is for a listing', async () => {
    // Every server the SDK's per-request handler builds is connected to a transport of its own; the one that
    // serves tool calls was connected when the edge was built.
    const owner = protoWith(Server.prototype, 'connect');
    const connect = owner.connect;
    let connected = 0;
    owner.connect = function (this: Server, ...args: Parameters<typeof connect>) {
      connected++;
      return connect.apply(this, args);
    };
    try {
      const listing = await modernPost(url, 'tools/list', {}, { key });
      assert.equal(listing.status, 200);
      assert.equal(connected, 1, 'a listing is served by a server of its own (the spy sees it)');
      const before = calls('echo');
      for (const text of ['one', 'two', 'three']) {
        const answer = await modernPost(url, 'tools/call', { name: 'remote_echo', arguments: { text } }, { key });
        assert.equal(answer.status, 200);
        assert.match(JSON.stringify(answer.body.result?.['content']), new RegExp(text));
      }
      assert.equal(calls('echo'), before + 3);
      assert.equal(connected, 1, 'no server was connected for the tool calls');
    } finally {
      owner.connect = connect;
    }
  });

  it('answers a tool call the shared server cannot take 500 with an internal error, nothing of it reaches the backend, and the next call is served', async () => {
    // The SDK's protocol layer throws as it takes this one message in (the server's own fault, not the agent's).
    const owner = protoWith(Server.prototype, '_onrequest');
    const onrequest = owner._onrequest;
    owner._onrequest = function (this: Server, ...args: Parameters<typeof onrequest>) {
      const [message] = args as unknown as [{ params?: { arguments?: { text?: unknown } } }];
      if (message.params?.arguments?.text === 'cannot take') throw new Error('the server cannot take this message');
      return onrequest.apply(this, args);
    };
    const before = calls('echo');
    try {
      const refused = await modernPost(
        url,
        'tools/call',
        { name: 'remote_echo', arguments: { text: 'cannot take' } },
        { key, id: 41 },
      );
      assert.equal(refused.status, 500);
      assert.equal(refused.body.id, 41);
      assert.equal(refused.body.error?.code, -32603);
      assert.equal(refused.body.error?.message, 'Internal server error');
      assert.equal(calls('echo'), before, 'nothing of the refused call reached the backend');
    } finally {
      owner._onrequest = onrequest;
    }
    const next = await modernPost(url, 'tools/call', { name: 'remote_echo', arguments: { text: 'after' } }, { key });
    assert.equal(next.status, 200);
    assert.match(JSON.stringify(next.body.result?.['content']), /after/);
    assert.equal(calls('echo'), before + 1);
  });

  describe('input_required rounds', () => {
    const ask = { name: 'remote_ask_user', arguments: {} };
    const capabilities = { elicitation: {} };
    const answer = { 'input-1': { action: 'accept', content: { name: 'Alice' } } };

    async function firstRound(agentKey = key) {
      const round = await modernPost(url, 'tools/call', ask, { key: agentKey, capabilities });
      assert.equal(round.body.result?.['resultType'], 'input_required');
      return round.body.result as { inputRequests: Record<string, { method: string }>; requestState: string };
    }

    it('turns the backend elicitation into input_required and resumes on the retry', async () => {
      const round = await firstRound();
      assert.equal(round.inputRequests['input-1']?.method, 'elicitation/create');
      const done = await modernPost(
        url,
        'tools/call',
        { ...ask, inputResponses: answer, requestState: round.requestState },
        { key, capabilities },
      );
      assert.match(JSON.stringify(done.body.result?.['content']), /Alice/);
    });

    it('refuses a replayed state (single use)', async () => {
      const round = await firstRound();
      const retry = { ...ask, inputResponses: answer, requestState: round.requestState };
      await modernPost(url, 'tools/call', retry, { key, capabilities });
      const replay = await modernPost(url, 'tools/call', retry, { key, capabilities });
      assert.equal(replay.body.error?.code, -32602);
      assert.equal(replay.body.error?.data?.['code'], 'STATE_REUSED');
    });

    it('refuses a tampered state, another principal and another call, and the held call gets nothing', async () => {
      const round = await firstRound();
      const [prefix, body, mac] = round.requestState.split('.');
      const forged = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
      forged['exp'] = (forged['exp'] as number) + 3600;
      const tampered = `${prefix}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`;
      const cases = [
        { params: { ...ask, requestState: tampered }, agent: key, code: 'STATE_INVALID' },
        { params: { ...ask, requestState: `${round.requestState}x` }, agent: key, code: 'STATE_INVALID' },
        {
          params: { ...ask, requestState: `${prefix}.${body}.${respellBase64url(mac!)}` },
          agent: key,
          code: 'STATE_INVALID',
        },
        {
          params: { ...ask, requestState: round.requestState },
          agent: gw.agents['echo-only']!.key,
          code: 'STATE_MISMATCH',
        },
        {
          params: { name: 'remote_ask_user', arguments: { message: 'other' }, requestState: round.requestState },
          agent: key,
          code: 'STATE_MISMATCH',
        },
      ];
      for (const c of cases) {
        const refused = await modernPost(
          url,
          'tools/call',
          { ...c.params, inputResponses: answer },
          { key: c.agent, capabilities },
        );
        assert.equal(refused.body.error?.data?.['code'], c.code, JSON.stringify(refused.body));
      }
      // The untouched state still works once: the refused attempts delivered nothing.
      const done = await modernPost(
        url,
        'tools/call',
        { ...ask, inputResponses: answer, requestState: round.requestState },
        { key, capabilities },
      );
      assert.match(JSON.stringify(done.body.result?.['content']), /Alice/);
    });

    it('asks again when the retry lacks an answer', async () => {
      const round = await firstRound();
      const again = await modernPost(
        url,
        'tools/call',
        { ...ask, inputResponses: { unrelated: { action: 'decline' } }, requestState: round.requestState },
        { key, capabilities },
      );
      assert.equal(again.body.result?.['resultType'], 'input_required');
      const state = again.body.result?.['requestState'] as string;
      const done = await modernPost(
        url,
        'tools/call',
        { ...ask, inputResponses: answer, requestState: state },
        {
          key,
          capabilities,
        },
      );
      assert.match(JSON.stringify(done.body.result?.['content']), /Alice/);
    });

    it('does not ask an agent for what it did not declare', async () => {
      const result = await modernPost(url, 'tools/call', ask, { key, capabilities: {} });
      assert.notEqual(result.body.result?.['resultType'], 'input_required');
      assert.equal(result.body.result?.['isError'], true);
    });
  });

  it("refuses a call outside an agent's policy while another agent's call with the same id is in flight, and nothing of the refused call reaches the backend", async () => {
    const slowCalls = () => gw.upstream.events.filter((e) => e.kind === 'call' && e.name === 'slow').length;
    const before = slowCalls();
    const slow = { name: 'remote_slow', arguments: { ms: 300 } };
    const allowed = modernPost(url, 'tools/call', slow, { key, id: 'same-id' });
    await eventually(() => slowCalls() === before + 1, "the allowed call's arrival upstream");
    const refused = await modernPost(url, 'tools/call', slow, { key: gw.agents['echo-only']!.key, id: 'same-id' });
    // A tool outside the agent's policy does not exist for it: refused as an unknown tool, in-band.
    assert.equal(refused.status, 200);
    assert.equal(refused.body.id, 'same-id');
    assert.equal(refused.body.result, undefined);
    assert.equal(refused.body.error?.code, -32602);
    assert.equal(refused.body.error?.data?.['code'], 'TOOL_NOT_FOUND');
    const done = await allowed;
    assert.equal(done.body.id, 'same-id');
    assert.equal(done.body.error, undefined);
    assert.notEqual(done.body.result?.['isError'], true);
    assert.equal(slowCalls(), before + 1, 'the refused call never reached the upstream');
  });
});
