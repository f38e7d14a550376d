/**
 * The MCP Inspector CLI, a real third-party client, lists and calls tools through the running demo gateway
 * (`portcullis demo`, as `npm start` runs it). The Inspector needs Node >= 22: the dev dependency `node@22`
 * provides it as node_modules/.bin/node.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { DEMO_AGENT_KEY, demoStatePaths } from '../gateway/edges/cli/commands/demo.js';
import { cliArgs } from './fixtures/gateway-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinnedNode = path.join(root, 'node_modules', 'node', 'bin', 'node');
const inspectorCli = path.join(root, 'node_modules', '@modelcontextprotocol', 'inspector', 'cli', 'build', 'index.js');
const run = promisify(execFile);

describe('MCP Inspector CLI against the demo gateway', () => {
  let demo: ChildProcess;
  let mcpUrl: string;
  // The demo's audit log and development keys go here, not into the checkout.
  const stateDir = mkdtempSync(path.join(tmpdir(), 'portcullis-inspector-demo-'));

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
  });
  after(async () => {
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGTERM');
      await exited;
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  const inspector = (...args: string[]) =>
    run(
      pinnedNode,
      [inspectorCli, mcpUrl, '--transport', 'http', '--header', `Authorization: Bearer ${DEMO_AGENT_KEY}`, ...args],
      { cwd: root, timeout: 60_000 },
    );

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
    const { stdout } = await inspector(
      '--method',
      'tools/call',
      '--tool-name',
      'helpdesk_add_comment',
      '--tool-arg',
      'id=2',
      `text=${'x'.repeat(600)}`,
    );
    assert.match(stdout, /POLICY_DENIED/);
    assert.match(stdout, /"isError": true/);
  });

  it('speaks the 2025 era on the wire: each run opens a session (Inspector 0.17 has no 2026-07-28 client)', async () => {
    const opened = () =>
      readFileSync(demoStatePaths(stateDir).auditFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"event":"session.open"')).length;
    const before = opened();
    await inspector('--method', 'tools/list');
    assert.equal(opened(), before + 1);
  });

  it('is refused without the key', async () => {
    const failed = await run(pinnedNode, [inspectorCli, mcpUrl, '--transport', 'http', '--method', 'tools/list'], {
      cwd: root,
      timeout: 60_000,
    }).then(
      () => false,
      () => true,
    );
    assert.ok(failed);
  });
});
