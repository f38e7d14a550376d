/**
 * The MCP Inspector CLI, a real third-party client, lists and calls tools through the running demo gateway
 * (`portcullis demo`, as `npm start` runs it), in both protocol eras (`--protocol-era legacy|modern`). A
 * recording proxy in between shows which era was actually spoken on the wire. The Inspector needs
 * Node >= 22: the dev dependency `node` provides it as node_modules/.bin/node.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DEMO_AGENT_KEY, demoStatePaths } from '../gateway/edges/cli/commands/demo.js';
import { cliArgs } from './fixtures/gateway-process.js';
import { startRecordingProxy, type RecordingProxy } from './fixtures/recording-proxy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinnedNode = path.join(root, 'node_modules', 'node', 'bin', 'node');
// The Inspector's launcher (its `mcp-inspector` bin); `--cli` selects the command-line client.
const inspectorLauncher = path.join(
  root,
  'node_modules',
  '@modelcontextprotocol',
  'inspector',
  'clients',
  'launcher',
  'build',
  'index.js',
);
const run = promisify(execFile);

describe('MCP Inspector CLI against the demo gateway', () => {
  let demo: ChildProcess;
  let mcpUrl: string;
  let proxy: RecordingProxy;
  // The demo's audit log and development keys go here, not into the checkout; so does the Inspector's
  // server catalog (it would otherwise write one under the home directory).
  const stateDir = mkdtempSync(path.join(tmpdir(), 'portcullis-inspector-demo-'));
  const inspectorEnv = { ...process.env, MCP_CATALOG_PATH: path.join(stateDir, 'inspector-catalog.json') };

  before(async () => {
    assert.ok(existsSync(pinnedNode), 'the pinned node dev dependency is installed');
    demo = spawn(process.execPath, cliArgs('demo', '--port', '0', '--api-port', '0', '--state-dir', stateDir), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    mcpUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}`)), 30_000);
      demo.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /Portcullis listening on (http:\/\/\S+\/mcp)/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      demo.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${out}`)));
    });
    proxy = await startRecordingProxy(mcpUrl);
  });
  after(async () => {
    await proxy?.close();
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGTERM');
      await exited;
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  const inspectorAt = (url: string, ...args: string[]) =>
    run(
      pinnedNode,
      [
        inspectorLauncher,
        '--cli',
        url,
        '--transport',
        'http',
        '--header',
        `Authorization: Bearer ${DEMO_AGENT_KEY}`,
        ...args,
      ],
      { cwd: root, timeout: 60_000, env: inspectorEnv },
    );
  const inspector = (...args: string[]) => inspectorAt(mcpUrl, ...args);

  it('lists the demo tools the demo agent may use', async () => {
    const { stdout } = await inspector('--method', 'tools/list');
    const names = (JSON.parse(stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    assert.ok(names.includes('helpdesk_get_ticket'));
    assert.ok(names.includes('kb_search'));
    assert.ok(names.includes('helpdesk_delete_ticket'), 'listed: the policy sends it for approval');
  });

  it('calls a tool', async () => {
    const { stdout } = await inspector(
      '--method',
      'tools/call',
      '--tool-name',
      'helpdesk_get_ticket',
      '--tool-arg',
      'id=2',
    );
    assert.match(stdout, /VPN drops every hour/);
  });

  it('shows a policy denial as a tool error with its code', async () => {
    // The Inspector prints the tool result and exits 5 when the result is a tool error.
    const failure = await inspector(
      '--method',
      'tools/call',
      '--tool-name',
      'helpdesk_add_comment',
      '--tool-arg',
      'id=2',
      `text=${'x'.repeat(600)}`,
    ).then(
      () => assert.fail('the Inspector reported success for a denied call'),
      (error: { code?: unknown; stdout?: string }) => error,
    );
    assert.equal(failure.code, 5);
    assert.match(failure.stdout ?? '', /POLICY_DENIED/);
    assert.match(failure.stdout ?? '', /"isError": true/);
  });

  /** Runs the Inspector through the recording proxy and returns what it sent and what came back. */
  async function overTheWire(era: 'legacy' | 'modern', ...args: string[]) {
    const from = proxy.exchanges.length;
    const result = await inspectorAt(proxy.url, '--protocol-era', era, ...args);
    return { stdout: result.stdout, exchanges: proxy.exchanges.slice(from) };
  }

  it('speaks 2025-11-25 with --protocol-era legacy: initialize, then a session', async () => {
    const opened = () =>
      readFileSync(demoStatePaths(stateDir).auditFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"event":"session.open"')).length;
    const before = opened();
    const { stdout, exchanges } = await overTheWire('legacy', '--method', 'tools/list');
    assert.match(stdout, /helpdesk_get_ticket/);
    const posts = exchanges.filter((e) => e.rpcMethod !== undefined);
    assert.equal(posts[0]?.rpcMethod, 'initialize');
    assert.ok(!posts.some((e) => e.rpcMethod === 'server/discover'));
    const sessionId = posts[0]?.responseHeaders?.['mcp-session-id'];
    assert.equal(typeof sessionId, 'string', 'the gateway opened a session');
    const list = posts.find((e) => e.rpcMethod === 'tools/list');
    assert.equal(list?.requestHeaders['mcp-session-id'], sessionId);
    assert.equal(list?.requestHeaders['mcp-protocol-version'], '2025-11-25');
    assert.equal(opened(), before + 1, 'the gateway audited the session it opened');
  });

  it('speaks 2026-07-28 with --protocol-era modern: server/discover, no session', async () => {
    const { stdout, exchanges } = await overTheWire(
      'modern',
      '--method',
      'tools/call',
      '--tool-name',
      'helpdesk_get_ticket',
      '--tool-arg',
      'id=2',
    );
    assert.match(stdout, /VPN drops every hour/);
    const posts = exchanges.filter((e) => e.rpcMethod !== undefined);
    assert.ok(posts.length > 0);
    assert.equal(posts[0]?.rpcMethod, 'server/discover');
    assert.ok(!posts.some((e) => e.rpcMethod === 'initialize'), 'no initialize handshake');
    for (const post of posts) {
      assert.equal(post.requestHeaders['mcp-protocol-version'], '2026-07-28', `${post.rpcMethod}`);
      assert.equal(post.requestHeaders['mcp-session-id'], undefined, `${post.rpcMethod} carries no session`);
      assert.equal(post.responseHeaders?.['mcp-session-id'], undefined, `no session for ${post.rpcMethod}`);
    }
    const call = posts.find((e) => e.rpcMethod === 'tools/call');
    assert.equal(call?.requestHeaders['mcp-method'], 'tools/call');
    assert.equal(call?.requestHeaders['mcp-name'], 'helpdesk_get_ticket');
    assert.equal(call?.status, 200);
  });

  it('is refused without the key', async () => {
    const failed = await run(
      pinnedNode,
      [inspectorLauncher, '--cli', mcpUrl, '--transport', 'http', '--method', 'tools/list'],
      { cwd: root, timeout: 60_000, env: inspectorEnv },
    ).then(
      () => false,
      () => true,
    );
    assert.ok(failed);
  });
});
