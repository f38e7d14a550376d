/**
 * The `mcp` connector against real upstream MCP servers: the fixture run as a child process over stdio, and
 * the same fixture served over Streamable HTTP on 127.0.0.1. Every behaviour the gateway relies on is
 * checked on both transports; crash/restart and child cleanup are stdio-specific, session loss and the
 * injected fetch are HTTP-specific.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type {
  CatalogChange,
  ConnectorContext,
  JsonObject,
  LogMessage,
  ProgressUpdate,
  ToolResult,
} from '../connectors/contract.js';
import { ConnectorError } from '../connectors/errors.js';
import {
  createMcpConnector,
  type McpConnector,
  type McpConnectorConfigInput,
  type McpConnectorDeps,
} from '../connectors/mcp/index.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import type { UpstreamEvent } from './fixtures/mcp-upstream.js';
import { eventually } from './helpers/eventually.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const stdioFixture = path.join(here, 'fixtures', 'mcp-upstream-stdio.ts');
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

let nextCallId = 0;
function context(overrides: Partial<ConnectorContext> = {}): ConnectorContext {
  nextCallId += 1;
  return {
    callId: `call-${nextCallId}`,
    signal: new AbortController().signal,
    fetch: globalThis.fetch,
    meta: {},
    ...overrides,
  };
}

function stdioConfig(overrides: Partial<McpConnectorConfigInput> = {}): McpConnectorConfigInput {
  return {
    id: 'local',
    kind: 'mcp',
    transport: 'stdio',
    command: process.execPath,
    args: ['--import', 'tsx', stdioFixture],
    cwd: root,
    ...overrides,
  } as McpConnectorConfigInput;
}

function textOf(result: ToolResult): string {
  return result.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectorError, `expected a ConnectorError, got ${String(error)}`);
  return error;
}

/** Wait for a condition that another party makes true (never asserts on how long it took). */

interface Setup {
  name: string;
  connector: McpConnector;
  logs: LogMessage[];
  updated: string[];
  /** What reached the upstream, in order. */
  events(): Promise<UpstreamEvent[]>;
}

async function call(
  connector: McpConnector,
  tool: string,
  args: JsonObject,
  ctx: ConnectorContext = context(),
): Promise<ToolResult> {
  return connector.callTool(await connector.prepareCall(tool, args), ctx);
}

async function inspect(connector: McpConnector): Promise<{ pid: number; events: UpstreamEvent[]; envKeys: string[] }> {
  return JSON.parse(textOf(await call(connector, 'inspect', {}))) as {
    pid: number;
    events: UpstreamEvent[];
    envKeys: string[];
  };
}

function createSetups(): { setups: Setup[]; upstream: () => UpstreamHttp; fetchCount: () => number } {
  const setups: Setup[] = [];
  let upstream: UpstreamHttp | undefined;
  let fetches = 0;

  const stdioLogs: LogMessage[] = [];
  const stdioUpdated: string[] = [];
  const stdio = createMcpConnector(stdioConfig(), {
    onLog: (m) => stdioLogs.push(m),
    onResourceUpdated: (uri) => stdioUpdated.push(uri),
  });
  setups.push({
    name: 'stdio',
    connector: stdio,
    logs: stdioLogs,
    updated: stdioUpdated,
    events: async () => (await inspect(stdio)).events,
  });

  const httpLogs: LogMessage[] = [];
  const httpUpdated: string[] = [];
  let http: McpConnector | undefined;
  const httpSetup: Setup = {
    name: 'http',
    get connector(): McpConnector {
      assert.ok(http, 'http connector created in before()');
      return http;
    },
    logs: httpLogs,
    updated: httpUpdated,
    events: async () => [...(upstream?.events ?? [])],
  };
  setups.push(httpSetup);

  before(async () => {
    upstream = await startUpstreamHttp();
    const deps: McpConnectorDeps = {
      fetch: (input, init) => {
        fetches += 1;
        return globalThis.fetch(input, init);
      },
      onLog: (m) => httpLogs.push(m),
      onResourceUpdated: (uri) => httpUpdated.push(uri),
    };
    http = createMcpConnector(
      { id: 'remote', kind: 'mcp', transport: 'http', url: upstream.url, headers: { 'x-fixture-tag': 'from-config' } },
      deps,
    );
    await Promise.all([stdio.start(), http.start()]);
  });
  after(async () => {
    await Promise.all(setups.map((s) => s.connector.close()));
    await upstream?.close();
  });

  return {
    setups,
    upstream: () => {
      assert.ok(upstream);
      return upstream;
    },
    fetchCount: () => fetches,
  };
}

describe('mcp connector', () => {
  const { setups, upstream, fetchCount } = createSetups();

  for (const setup of setups) {
    describe(`over ${setup.name}`, () => {
      it('is ready after start and lists the whole catalog', async () => {
        const { connector } = setup;
        assert.deepEqual(connector.status(), {
          state: 'ready',
          restarts: 0,
          era: 'legacy',
          protocolVersion: '2025-11-25',
        });
        const ctx = { signal: new AbortController().signal, fetch: globalThis.fetch };
        const tools = await connector.listTools(ctx);
        for (const name of [
          'echo',
          'add',
          'slow',
          'fail',
          'ask_model',
          'ask_user',
          'log',
          'meta_echo',
          'crash',
          'mutate_tools',
        ]) {
          assert.ok(
            tools.some((t) => t.name === name),
            `tool ${name} listed`,
          );
        }
        const add = tools.find((t) => t.name === 'add');
        assert.deepEqual(add?.inputSchema.required, ['a', 'b']);
        assert.ok(add?.outputSchema, 'output schema passed on');
        const resources = await connector.catalog.listResources(ctx);
        assert.deepEqual(
          resources.map((r) => r.uri),
          ['fixture://static/readme'],
        );
        const templates = await connector.catalog.listResourceTemplates(ctx);
        assert.deepEqual(
          templates.map((t) => t.uriTemplate),
          ['fixture://items/{id}'],
        );
        const prompts = await connector.catalog.listPrompts(ctx);
        assert.deepEqual(
          prompts.map((p) => [p.name, (p.arguments as { name: string }[]).map((a) => a.name)]),
          [['greet', ['name']]],
        );
      });

      it('calls tools, passes structured output and tool-level errors through', async () => {
        const { connector } = setup;
        assert.equal(textOf(await call(connector, 'echo', { text: 'hello' })), 'hello');
        const add = await call(connector, 'add', { a: 2, b: 3 });
        assert.deepEqual(add.structuredContent, { sum: 5 });
        assert.notEqual(add.isError, true);
        const fail = await call(connector, 'fail', {});
        assert.equal(fail.isError, true);
        assert.equal(textOf(fail), 'failed on purpose');
      });

      it('rejects unknown tools and invalid arguments before anything reaches the upstream', async () => {
        const { connector } = setup;
        const before = (await setup.events()).length;
        const unknown = await rejection(connector.prepareCall('no_such_tool', {}));
        assert.equal(unknown.code, 'TOOL_NOT_FOUND');
        const invalid = await rejection(connector.prepareCall('add', { a: 'two', b: 3 }));
        assert.equal(invalid.code, 'INVALID_ARGUMENTS');
        assert.deepEqual(invalid.details, { violations: [{ path: '/a', message: 'must be number' }] });
        const missing = await rejection(connector.prepareCall('echo', {}));
        assert.equal(missing.code, 'INVALID_ARGUMENTS');
        // `inspect` itself is recorded on neither transport, so the count is comparable.
        const events = await setup.events();
        assert.equal(
          events.length,
          before,
          `nothing new reached the upstream: ${JSON.stringify(events.slice(before))}`,
        );
      });

      it('refuses arguments that serialisation would change (a Date, NaN), naming where, before the upstream', async () => {
        const { connector } = setup;
        const before = (await setup.events()).length;
        const dated = await rejection(
          connector.prepareCall('echo', { text: 'hello', sent: new Date(0) } as unknown as JsonObject),
        );
        assert.equal(dated.code, 'INVALID_ARGUMENTS');
        assert.deepEqual(dated.details, { violations: [{ path: '/sent', message: 'is not a plain object' }] });
        const notANumber = await rejection(connector.prepareCall('echo', { text: 'hello', count: Number.NaN }));
        assert.equal(notANumber.code, 'INVALID_ARGUMENTS');
        assert.deepEqual(notANumber.details, { violations: [{ path: '/count', message: 'is not a finite number' }] });
        const events = await setup.events();
        assert.equal(
          events.length,
          before,
          `nothing new reached the upstream: ${JSON.stringify(events.slice(before))}`,
        );
      });

      it('forwards progress notifications to ctx.onProgress', async () => {
        const updates: ProgressUpdate[] = [];
        const result = await call(
          setup.connector,
          'slow',
          { ms: 250 },
          context({ onProgress: (u) => updates.push(u) }),
        );
        assert.equal(textOf(result), 'waited 250ms');
        assert.ok(updates.length >= 2, `expected progress updates, got ${JSON.stringify(updates)}`);
        assert.deepEqual(updates[0], { progress: 1, total: 5, message: 'step 1' });
        for (let i = 1; i < updates.length; i += 1) assert.ok(updates[i]!.progress > updates[i - 1]!.progress);
      });

      it('cancels the upstream call when ctx.signal aborts', async () => {
        const controller = new AbortController();
        const pending = call(
          setup.connector,
          'slow',
          { ms: 30_000 },
          context({ signal: controller.signal, onProgress: () => controller.abort() }),
        );
        const error = await rejection(pending);
        assert.equal(error.code, 'CANCELLED');
        await eventually(
          async () => (await setup.events()).some((e) => e.kind === 'cancelled' && e.name === 'slow'),
          'the upstream to see the cancellation',
        );
      });

      it('propagates ctx.meta (traceparent) to the upstream in _meta', async () => {
        const result = await call(
          setup.connector,
          'meta_echo',
          {},
          context({ meta: { traceparent: TRACEPARENT, progressToken: 'spoofed' } }),
        );
        const meta = JSON.parse(textOf(result)) as Record<string, unknown>;
        assert.equal(meta.traceparent, TRACEPARENT);
        assert.equal(meta.progressToken, undefined, 'a caller-supplied progress token is not forwarded');
      });

      it('relays sampling, elicitation and roots requests through the single in-flight call', async () => {
        const relayed: { method: string; params: JsonObject }[] = [];
        const answers: Record<string, JsonObject> = {
          'sampling/createMessage': {
            role: 'assistant',
            content: { type: 'text', text: 'sampled-by-agent' },
            model: 'test-model',
          },
          'elicitation/create': { action: 'accept', content: { name: 'Ada' } },
          'roots/list': { roots: [{ uri: 'file:///workspace', name: 'workspace' }] },
        };
        const relayRequest = async (method: string, params: JsonObject): Promise<JsonObject> => {
          relayed.push({ method, params });
          const answer = answers[method];
          assert.ok(answer, `unexpected relay of ${method}`);
          return answer;
        };
        const sampled = await call(
          setup.connector,
          'ask_model',
          { question: 'hi?' },
          context({ inputRequests: { request: relayRequest } }),
        );
        assert.equal(textOf(sampled), 'sampled-by-agent');
        const elicited = await call(
          setup.connector,
          'ask_user',
          {},
          context({ inputRequests: { request: relayRequest } }),
        );
        assert.deepEqual(JSON.parse(textOf(elicited)), { action: 'accept', content: { name: 'Ada' } });
        const roots = await call(
          setup.connector,
          'list_roots',
          {},
          context({ inputRequests: { request: relayRequest } }),
        );
        assert.deepEqual(JSON.parse(textOf(roots)), [{ uri: 'file:///workspace', name: 'workspace' }]);
        assert.deepEqual(
          relayed.map((r) => r.method),
          ['sampling/createMessage', 'elicitation/create', 'roots/list'],
        );
        assert.deepEqual(relayed[0]?.params.messages, [{ role: 'user', content: { type: 'text', text: 'hi?' } }]);
      });

      it('refuses to relay when the call cannot take it, and attributes requests when several calls are in flight', async () => {
        const { connector } = setup;
        // The calling agent offered no relay: the upstream gets a JSON-RPC error, the tool reports it.
        const noRelay = await call(connector, 'ask_model', {});
        assert.equal(noRelay.isError, true);
        assert.match(textOf(noRelay), /refused by the gateway/);

        const asked: string[] = [];
        const relayTo = (name: string) => async (): Promise<JsonObject> => {
          asked.push(name);
          return { role: 'assistant', content: { type: 'text', text: `answered by ${name}` }, model: 'm' };
        };
        const controller = new AbortController();
        let inFlight!: () => void;
        const slowStarted = new Promise<void>((resolve) => (inFlight = resolve));
        const slow = call(
          connector,
          'slow',
          { ms: 30_000 },
          context({
            signal: controller.signal,
            inputRequests: { request: relayTo('slow') },
            onProgress: () => inFlight(),
          }),
        );
        await slowStarted;
        const second = await call(
          connector,
          'ask_model',
          {},
          context({ inputRequests: { request: relayTo('second') } }),
        );
        controller.abort();
        assert.equal((await rejection(slow)).code, 'CANCELLED');
        if (setup.name === 'http') {
          // The request arrived on the second call's own response stream: it is that call's, with no doubt.
          assert.equal(textOf(second), 'answered by second');
          assert.deepEqual(asked, ['second']);
        } else {
          // One pipe carries every call's traffic: with two calls in flight the request has no owner.
          assert.equal(second.isError, true);
          assert.match(textOf(second), /several calls are in flight/);
          assert.deepEqual(asked, [], 'no agent was asked');
        }
      });

      it("forwards upstream log messages to the call's onLog", async () => {
        const received: LogMessage[] = [];
        const before = setup.logs.length;
        await call(
          setup.connector,
          'log',
          { message: 'from upstream', level: 'warning' },
          context({ onLog: (m) => received.push(m) }),
        );
        assert.deepEqual(received, [{ level: 'warning', logger: 'fixture', data: 'from upstream' }]);
        assert.equal(setup.logs.length, before, 'not also sent to the connector log');
      });

      it('re-lists tools on list_changed and notifies onChange listeners', async () => {
        const { connector } = setup;
        const changes: CatalogChange[] = [];
        const changed = new Promise<void>((resolve) => {
          const stop = connector.onChange((change) => {
            changes.push(change);
            stop();
            resolve();
          });
        });
        const added = textOf(await call(connector, 'mutate_tools', {}));
        await changed;
        assert.deepEqual(changes, ['tools']);
        const tools = await connector.listTools({ signal: new AbortController().signal, fetch: globalThis.fetch });
        assert.ok(
          tools.some((t) => t.name === added),
          `${added} listed after the refresh`,
        );
        assert.equal(textOf(await call(connector, added, {})), added);
      });

      it('federates resources, templates, prompts and completions', async () => {
        const { catalog } = setup.connector;
        const readme = await catalog.readResource('fixture://static/readme', context());
        assert.deepEqual(readme.contents, [
          { uri: 'fixture://static/readme', mimeType: 'text/plain', text: 'fixture readme' },
        ]);
        const item = await catalog.readResource('fixture://items/42', context());
        assert.deepEqual(
          (item.contents as { text: string }[]).map((c) => c.text),
          ['item 42'],
        );
        assert.equal(
          (await rejection(catalog.readResource('fixture://missing', context()))).code,
          'RESOURCE_NOT_FOUND',
        );

        const prompt = await catalog.getPrompt('greet', { name: 'Ada' }, context());
        assert.deepEqual(prompt.messages, [{ role: 'user', content: { type: 'text', text: 'Hello, Ada!' } }]);
        assert.equal((await rejection(catalog.getPrompt('nope', {}, context()))).code, 'PROMPT_NOT_FOUND');
        assert.equal((await rejection(catalog.getPrompt('greet', {}, context()))).code, 'INVALID_ARGUMENTS');

        const completion = await catalog.complete(
          { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: 'al' } },
          context(),
        );
        assert.deepEqual((completion.completion as { values: string[] }).values, ['alice', 'albert']);
      });

      it('subscribes to resources once for all holders and reports updates', async () => {
        const { connector, updated } = setup;
        const uri = 'fixture://static/readme';
        const count = async (kind: UpstreamEvent['kind']) =>
          (await setup.events()).filter((e) => e.kind === kind && e.name === uri).length;
        await connector.catalog.subscribeResource(uri, context());
        await connector.catalog.subscribeResource(uri, context());
        assert.equal(await count('subscribe'), 1, 'one upstream subscription for two holders');
        await call(connector, 'touch_resource', { uri });
        await eventually(() => updated.includes(uri), 'the resource update');
        await connector.catalog.unsubscribeResource(uri, context());
        assert.equal(await count('unsubscribe'), 0, 'still held by the second subscriber');
        await connector.catalog.unsubscribeResource(uri, context());
        assert.equal(await count('unsubscribe'), 1);
      });
    });
  }

  describe('over http only', () => {
    it('sends every request through the injected fetch with the configured headers', () => {
      assert.ok(fetchCount() > 0, 'the injected fetch was used');
      assert.ok(upstream().tags.length > 0 && upstream().tags.every((t) => t === 'from-config'));
    });

    it('reaches the upstream only through the injected fetch: a denying fetch means no traffic at all', async () => {
      const up = upstream();
      let asked = 0;
      const denyingFetch = async (): Promise<Response> => {
        asked += 1;
        throw Object.assign(new Error('egress denied'), { code: 'EGRESS_DENIED' });
      };
      const connector = createMcpConnector(
        { id: 'denied', kind: 'mcp', transport: 'http', url: up.url, headers: { 'x-fixture-tag': 'denied-connector' } },
        { fetch: denyingFetch },
      );
      try {
        const error = await rejection(connector.start());
        assert.equal(error.code, 'EGRESS_DENIED');
        assert.ok(asked > 0, 'the injected fetch was asked');
        assert.ok(!up.tags.includes('denied-connector'), 'no request reached the upstream');
      } finally {
        await connector.close();
      }
    });

    it('maps a request timeout to UPSTREAM_TIMEOUT and cancels upstream', async () => {
      const up = upstream();
      const connector = createMcpConnector(
        { id: 'slowpoke', kind: 'mcp', transport: 'http', url: up.url, requestTimeoutMs: 300 },
        {},
      );
      try {
        await connector.start();
        const before = up.events.filter((e) => e.kind === 'cancelled').length;
        const error = await rejection(call(connector, 'slow', { ms: 30_000 }));
        assert.equal(error.code, 'UPSTREAM_TIMEOUT');
        await eventually(
          () => up.events.filter((e) => e.kind === 'cancelled').length > before,
          'the upstream to see the cancellation',
        );
      } finally {
        await connector.close();
      }
    });

    it('reconnects with a new session when the upstream forgets the session', async () => {
      const up = upstream();
      const connector = createMcpConnector({ id: 'session', kind: 'mcp', transport: 'http', url: up.url }, {});
      try {
        await connector.start();
        assert.equal(textOf(await call(connector, 'echo', { text: 'one' })), 'one');
        await up.dropSessions();
        // Depending on whether the standalone stream noticed first, this call meets the lost session or the new one.
        const during = await call(connector, 'echo', { text: 'two' }).then(textOf, (e: unknown) => e);
        if (during !== 'two') assert.equal((during as ConnectorError).code, 'UPSTREAM_UNAVAILABLE');
        await eventually(
          () => connector.status().state === 'ready' && connector.status().restarts >= 1,
          'the reconnect',
        );
        assert.equal(textOf(await call(connector, 'echo', { text: 'three' })), 'three');
      } finally {
        await connector.close();
      }
      assert.equal(connector.status().state, 'closed');
    });
  });
});

describe('mcp connector over stdio: child lifecycle', () => {
  it('passes only a minimal environment plus the configured env to the child', async () => {
    process.env.PORTCULLIS_TEST_GATEWAY_SECRET = 'must-not-leak';
    const connector = createMcpConnector(
      stdioConfig({ id: 'envcheck', env: { FIXTURE_FLAG: 'on' } } as Partial<McpConnectorConfigInput>),
    );
    try {
      await connector.start();
      const { envKeys } = await inspect(connector);
      assert.ok(envKeys.includes('FIXTURE_FLAG'));
      assert.ok(envKeys.includes('PATH'));
      assert.ok(!envKeys.includes('PORTCULLIS_TEST_GATEWAY_SECRET'), `leaked: ${envKeys.join(',')}`);
    } finally {
      delete process.env.PORTCULLIS_TEST_GATEWAY_SECRET;
      await connector.close();
    }
  });

  it('fails fast while the child is down, restarts it, and works again', async () => {
    const logs: LogMessage[] = [];
    const connector = createMcpConnector(
      stdioConfig({
        id: 'crashy',
        restart: { initialDelayMs: 50, maxDelayMs: 400 },
      } as Partial<McpConnectorConfigInput>),
      {
        onLog: (m) => logs.push(m),
      },
    );
    try {
      await connector.start();
      const { pid: firstPid } = await inspect(connector);
      await connector.catalog.subscribeResource('fixture://static/readme', context());
      const crashed = await rejection(call(connector, 'crash', {}));
      assert.equal(crashed.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(connector.status().state, 'restarting');
      // While down: an immediate, explicit failure instead of a hang.
      const down = await rejection(call(connector, 'echo', { text: 'x' }));
      assert.equal(down.code, 'UPSTREAM_UNAVAILABLE');
      await eventually(() => connector.status().state === 'ready', 'the restart');
      assert.ok(connector.status().restarts >= 1);
      assert.equal(textOf(await call(connector, 'echo', { text: 'back' })), 'back');
      const { pid: secondPid, events } = await inspect(connector);
      assert.notEqual(secondPid, firstPid);
      assert.ok(
        events.some((e) => e.kind === 'subscribe' && e.name === 'fixture://static/readme'),
        'subscription renewed in the new child',
      );
      assert.throws(() => process.kill(firstPid, 0), { code: 'ESRCH' });
    } finally {
      await connector.close();
    }
  });

  it('stops after maxRestarts and reports closed', async () => {
    const connector = createMcpConnector(
      stdioConfig({
        id: 'limited',
        restart: { initialDelayMs: 20, maxDelayMs: 40, maxRestarts: 0 },
      } as Partial<McpConnectorConfigInput>),
    );
    try {
      await connector.start();
      await rejection(call(connector, 'crash', {}));
      await eventually(() => connector.status().state === 'closed', 'giving up');
      assert.equal(connector.status().restarts, 0);
      assert.equal((await rejection(call(connector, 'echo', { text: 'x' }))).code, 'UPSTREAM_UNAVAILABLE');
    } finally {
      await connector.close();
    }
  });

  it('keeps retrying in the background when the first start fails', async () => {
    const connector = createMcpConnector(
      stdioConfig({
        id: 'missing',
        command: path.join(root, 'no-such-command'),
        args: [],
        restart: { initialDelayMs: 20, maxDelayMs: 40 },
      } as Partial<McpConnectorConfigInput>),
    );
    try {
      const error = await rejection(connector.start());
      assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
      await eventually(() => connector.status().restarts >= 2, 'background retries');
      assert.equal(connector.status().state, 'restarting');
      assert.equal(
        (await rejection(connector.listTools({ signal: new AbortController().signal, fetch: globalThis.fetch }))).code,
        'UPSTREAM_UNAVAILABLE',
      );
    } finally {
      await connector.close();
    }
    const restartsAtClose = connector.status().restarts;
    assert.equal(connector.status().state, 'closed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(connector.status().restarts, restartsAtClose, 'no restart after close');
  });

  it('close() ends the child process and later calls fail', async () => {
    const connector = createMcpConnector(stdioConfig({ id: 'closer' } as Partial<McpConnectorConfigInput>));
    await connector.start();
    const { pid } = await inspect(connector);
    process.kill(pid, 0); // alive now
    await connector.close();
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    assert.deepEqual(connector.status(), { state: 'closed', restarts: 0, era: 'legacy' });
    assert.equal((await rejection(call(connector, 'echo', { text: 'x' }))).code, 'UPSTREAM_UNAVAILABLE');
    assert.equal((await rejection(connector.start())).code, 'UPSTREAM_UNAVAILABLE');
  });
});
