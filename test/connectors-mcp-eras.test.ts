/**
 * The `mcp` connector against upstreams of both protocol eras: the 2025 fixture (SDK v1, sessions) and the
 * 2026-07-28 fixture (SDK v2 server, stateless, `input_required`), each over stdio and Streamable HTTP.
 * Checked: the era negotiated and spoken on the wire, that negotiating never spawns a stdio upstream twice
 * and is remembered across restarts, and that a modern upstream's input rounds reach the calling agent per
 * call, with concurrent calls each answered by their own agent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type {
  ConnectorContext,
  InputRequestChannel,
  JsonObject,
  LogMessage,
  ToolResult,
} from '../connectors/contract.js';
import { ConnectorError } from '../connectors/errors.js';
import { createMcpConnector, type McpConnector, type McpConnectorConfigInput } from '../connectors/mcp/index.js';
import { startUpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startModernUpstreamHttp, type ModernUpstreamHttp } from './fixtures/mcp-upstream-modern.js';
import { spawnedPids } from './fixtures/spawn-log.js';
import { eventually } from './helpers/eventually.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const fixtures = {
  legacy: path.join(here, 'fixtures', 'mcp-upstream-stdio.ts'),
  modern: path.join(here, 'fixtures', 'mcp-upstream-modern-stdio.ts'),
  strict: path.join(here, 'fixtures', 'mcp-upstream-strict-stdio.ts'),
};

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

function textOf(result: ToolResult): string {
  return result.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

async function call(connector: McpConnector, tool: string, args: JsonObject, ctx = context()): Promise<ToolResult> {
  return connector.callTool(await connector.prepareCall(tool, args), ctx);
}

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectorError, `expected a ConnectorError, got ${String(error)}`);
  return error;
}

function stdioConnector(era: keyof typeof fixtures, spawnLog: string): McpConnector {
  return createMcpConnector({
    id: `${era}-stdio`,
    kind: 'mcp',
    transport: 'stdio',
    command: process.execPath,
    args: ['--import', 'tsx', fixtures[era]],
    cwd: root,
    env: { FIXTURE_SPAWN_LOG: spawnLog },
    restart: { initialDelayMs: 20, maxDelayMs: 40 },
  } as McpConnectorConfigInput);
}

const spawns = (file: string): number => spawnedPids(file).length;

/** An agent that answers elicitations with a name of its own, and records what it was asked. */
function agent(name: string): { channel: InputRequestChannel; asked: { method: string; params: JsonObject }[] } {
  const asked: { method: string; params: JsonObject }[] = [];
  return {
    asked,
    channel: {
      async request(method, params) {
        asked.push({ method, params });
        if (method === 'elicitation/create') return { action: 'accept', content: { name } };
        if (method === 'sampling/createMessage')
          return { role: 'assistant', content: { type: 'text', text: `${name} says hi` }, model: 'm' };
        if (method === 'roots/list') return { roots: [{ uri: `file:///${name}`, name }] };
        throw Object.assign(new Error(`unexpected ${method}`), { code: 'NOT_SUPPORTED' });
      },
    },
  };
}

describe('mcp connector: upstream protocol eras', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-eras-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const era of ['legacy', 'modern'] as const) {
    it(`negotiates the ${era} era over stdio with one spawn, and remembers it across a restart`, async () => {
      const log = path.join(dir, `${era}.spawns`);
      const connector = stdioConnector(era, log);
      try {
        await connector.start();
        const status = connector.status();
        assert.equal(status.era, era);
        assert.equal(status.protocolVersion, era === 'modern' ? '2026-07-28' : '2025-11-25');
        assert.equal(spawns(log), 1, 'probing for the era did not start a second process');
        assert.equal(textOf(await call(connector, 'echo', { text: 'hi' })), 'hi');

        await rejection(call(connector, 'crash', {}));
        await eventually(() => connector.status().state === 'ready', 'the restart');
        assert.equal(spawns(log), 2, 'one process per connection, no probe process');
        assert.equal(connector.status().era, era, 'the verdict is remembered');
        assert.equal(textOf(await call(connector, 'echo', { text: 'again' })), 'again');
      } finally {
        await connector.close();
      }
    });
  }

  it('hears a 2026-07-28 upstream list changes on its listen stream (stdio)', async () => {
    const connector = stdioConnector('modern', path.join(dir, 'listen.spawns'));
    try {
      await connector.start();
      const changed = new Promise<string>((resolve) => {
        const stop = connector.onChange((change) => {
          stop();
          resolve(change);
        });
      });
      const added = textOf(await call(connector, 'mutate_tools', {}));
      const silence = new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error('no list change heard')), 15_000).unref();
      });
      assert.equal(await Promise.race([changed, silence]), 'tools');
      const tools = await connector.listTools({ signal: new AbortController().signal, fetch: globalThis.fetch });
      assert.ok(
        tools.some((t) => t.name === added),
        `${added} listed after the change`,
      );
      assert.equal(textOf(await call(connector, added, {})), added);
    } finally {
      await connector.close();
    }
  });

  it('takes a stdio server that exits on the probe for a 2025 server, and skips the probe from then on', async () => {
    const log = path.join(dir, 'strict.spawns');
    const connector = stdioConnector('strict', log);
    try {
      assert.equal((await rejection(connector.start())).code, 'UPSTREAM_UNAVAILABLE');
      await eventually(() => connector.status().state === 'ready', 'the next attempt');
      assert.equal(connector.status().era, 'legacy');
      assert.equal(spawns(log), 2, 'the probe cost the one process it killed, no more');
      assert.equal(textOf(await call(connector, 'echo', { text: 'strict' })), 'strict');
    } finally {
      await connector.close();
    }
  });

  describe('a 2026-07-28 upstream over Streamable HTTP', () => {
    let upstream: ModernUpstreamHttp;
    let connector: McpConnector;
    before(async () => {
      upstream = await startModernUpstreamHttp();
      connector = createMcpConnector({ id: 'modern-http', kind: 'mcp', transport: 'http', url: upstream.url });
      await connector.start();
    });
    after(async () => {
      await connector?.close();
      await upstream?.close();
    });

    it('is spoken statelessly at 2026-07-28 on the wire: discovered, never initialized', async () => {
      assert.equal(connector.status().era, 'modern');
      assert.equal(textOf(await call(connector, 'whoami', {})), '2026-07-28');
      const methods = upstream.requests.map((r) => r.method);
      assert.equal(methods[0], 'server/discover');
      assert.ok(!methods.includes('initialize'), methods.join(','));
      for (const request of upstream.requests.filter((r) => r.method === 'tools/call'))
        assert.equal(request.version, '2026-07-28');
    });

    it('relays input rounds to the calling agent and retries with its answers and the upstream state', async () => {
      const ada = agent('Ada');
      const result = await call(
        connector,
        'ask_user',
        { question: 'Who are you?' },
        context({ inputRequests: ada.channel }),
      );
      assert.deepEqual(JSON.parse(textOf(result)), {
        action: 'accept',
        content: { name: 'Ada' },
        state: 'asked:Who are you?',
      });
      assert.equal(ada.asked.length, 1);
      assert.equal(ada.asked[0]?.method, 'elicitation/create');
      assert.equal(ada.asked[0]?.params.message, 'Who are you?');

      const two = agent('Bob');
      const rounds = await call(connector, 'ask_model_then_roots', {}, context({ inputRequests: two.channel }));
      assert.equal(textOf(rounds), 'Bob says hi|file:///Bob');
      assert.deepEqual(
        two.asked.map((a) => a.method),
        ['sampling/createMessage', 'roots/list'],
      );
    });

    it('refuses a call whose agent cannot answer, with NOT_SUPPORTED', async () => {
      const error = await rejection(call(connector, 'ask_user', { question: 'anyone?' }));
      assert.equal(error.code, 'NOT_SUPPORTED');
    });
  });

  for (const transport of ['stdio', 'http'] as const) {
    it(`keeps concurrent calls' input rounds apart (2026-07-28 upstream over ${transport})`, async () => {
      const upstream = transport === 'http' ? await startModernUpstreamHttp() : undefined;
      const connector =
        upstream === undefined
          ? stdioConnector('modern', path.join(dir, 'concurrent.spawns'))
          : createMcpConnector({ id: 'modern-http', kind: 'mcp', transport: 'http', url: upstream.url });
      try {
        await connector.start();
        const names = ['Ada', 'Bob', 'Cy', 'Di'];
        const agents = names.map((name) => agent(name));
        const results = await Promise.all(
          names.map((name, i) =>
            call(
              connector,
              'ask_user',
              { question: `question for ${name}` },
              context({ inputRequests: agents[i]!.channel }),
            ),
          ),
        );
        results.forEach((result, i) => {
          const name = names[i]!;
          assert.deepEqual(JSON.parse(textOf(result)), {
            action: 'accept',
            content: { name },
            state: `asked:question for ${name}`,
          });
          assert.deepEqual(
            agents[i]!.asked.map((a) => a.params.message),
            [`question for ${name}`],
            `${name}'s agent was asked only its own question`,
          );
        });
      } finally {
        await connector.close();
        await upstream?.close();
      }
    });
  }

  for (const transport of ['stdio', 'http'] as const) {
    it(`delivers what a 2025 upstream logs while no call runs as connector-level logs (${transport})`, async () => {
      const upstream = transport === 'http' ? await startUpstreamHttp() : undefined;
      const own: LogMessage[] = [];
      const idle: LogMessage[] = [];
      const deps = { onLog: (m: LogMessage) => own.push(m), onUpstreamLog: (m: LogMessage) => idle.push(m) };
      const connector =
        upstream === undefined
          ? createMcpConnector(
              {
                id: 'legacy-stdio',
                kind: 'mcp',
                transport: 'stdio',
                command: process.execPath,
                args: ['--import', 'tsx', fixtures.legacy],
                cwd: root,
              } as McpConnectorConfigInput,
              deps,
            )
          : createMcpConnector({ id: 'legacy-http', kind: 'mcp', transport: 'http', url: upstream.url }, deps);
      try {
        await connector.start();
        const inCall: LogMessage[] = [];
        await call(connector, 'log', { message: 'within the call' }, context({ onLog: (m) => inCall.push(m) }));
        assert.equal(textOf(await call(connector, 'log_later', { messages: ['one', 'two', 'three'] })), 'scheduled');
        await eventually(() => idle.length >= 3, 'the three idle log messages');
        assert.deepEqual(
          idle.map((m) => m.data),
          ['one', 'two', 'three'],
        );
        assert.deepEqual(
          inCall.map((m) => m.data),
          ['within the call'],
          "a call's own log goes to that call only",
        );
        assert.deepEqual(own, [], 'none of it is reported as the connector own warnings');
      } finally {
        await connector.close();
        await upstream?.close();
      }
    });
  }
});
