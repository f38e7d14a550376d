/**
 * Stdio children started ahead of their connection: a transport adopts a running child started exactly
 * as it would start one (no second process), and spawns its own when the early child was started
 * differently, has exited or could not start; children never adopted are stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import { isRunning, spawnedPids } from '../../test/fixtures/spawn-log.js';
import { eventually } from '../../test/helpers/eventually.js';
import { createMcpConnector } from './connector.js';
import { startEarlyStdioChild, type StdioSpawnOptions } from './stdio-child.js';
import { LimitedStdioTransport } from './stdio-transport.js';

const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-stdio-child-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A child that logs its pid when it starts and echoes every line it reads. With `EXIT_FIRST` naming a
 * file that does not exist yet, its first run creates the file and exits at once.
 */
const ECHO = `
const fs = require('node:fs');
fs.appendFileSync(process.env.SPAWN_LOG, process.pid + '\\n');
if (process.env.EXIT_FIRST && !fs.existsSync(process.env.EXIT_FIRST)) { fs.writeFileSync(process.env.EXIT_FIRST, ''); process.exit(0); }
process.stdin.on('data', (chunk) => process.stdout.write(chunk));
process.stdin.on('end', () => process.exit(0));
`;

let runs = 0;
function echoChild(env: Record<string, string> = {}): { options: StdioSpawnOptions; log: string } {
  runs += 1;
  const log = path.join(dir, `spawns-${runs}.log`);
  return {
    log,
    options: { command: process.execPath, args: ['-e', ECHO], env: { SPAWN_LOG: log, ...env }, cwd: dir },
  };
}

/** Sends one request through the transport and resolves with what comes back. */
async function roundTrip(transport: LimitedStdioTransport): Promise<JSONRPCMessage> {
  const received = new Promise<JSONRPCMessage>((resolve) => {
    transport.onmessage = resolve;
  });
  await transport.send({ jsonrpc: '2.0', id: 7, method: 'ping' });
  return received;
}

describe('a stdio child started ahead of its connection', () => {
  it('is adopted by a transport that would start it the same way: one process, and messages flow', async () => {
    const { options, log } = echoChild();
    const early = startEarlyStdioChild(options);
    await eventually(() => spawnedPids(log).length === 1, 'the early child to start');
    const transport = new LimitedStdioTransport({ ...options, maxMessageBytes: 1 << 20, early });
    await transport.start();
    try {
      assert.equal(transport.pid, early.pid);
      assert.deepEqual(await roundTrip(transport), { jsonrpc: '2.0', id: 7, method: 'ping' });
      assert.deepEqual(spawnedPids(log), [early.pid]);
    } finally {
      await transport.close();
    }
    await eventually(() => !isRunning(early.pid!), 'the early child to stop');
  });

  it('is stopped, and the transport spawns its own, when it was started with another environment, other arguments or in another folder', async () => {
    for (const differently of [
      (options: StdioSpawnOptions) => ({ ...options, env: { ...options.env, EXTRA: '1' } }),
      (options: StdioSpawnOptions) => ({ ...options, args: [...options.args, 'another'] }),
      (options: StdioSpawnOptions) => ({ ...options, cwd: tmpdir() }),
    ]) {
      const { options, log } = echoChild();
      const early = startEarlyStdioChild(differently(options));
      await eventually(() => spawnedPids(log).length === 1, 'the early child to start');
      const transport = new LimitedStdioTransport({ ...options, maxMessageBytes: 1 << 20, early });
      await transport.start();
      try {
        assert.notEqual(transport.pid, early.pid);
        assert.equal((await roundTrip(transport)).jsonrpc, '2.0');
        await eventually(() => !isRunning(early.pid!), 'the early child to stop');
        assert.equal(spawnedPids(log).length, 2);
      } finally {
        await transport.close();
      }
    }
  });

  it('is not adopted once it has exited: the transport spawns a running one', async () => {
    const { options, log } = echoChild({ EXIT_FIRST: path.join(dir, 'exited-once') });
    const early = startEarlyStdioChild(options);
    await eventually(() => !isRunning(early.pid!), 'the early child to stop');
    const transport = new LimitedStdioTransport({ ...options, maxMessageBytes: 1 << 20, early });
    await transport.start();
    try {
      assert.notEqual(transport.pid, early.pid);
      assert.equal((await roundTrip(transport)).jsonrpc, '2.0');
      assert.equal(spawnedPids(log).length, 2);
    } finally {
      await transport.close();
    }
  });

  it('that could not start changes nothing: the transport reports its own failure to start', async () => {
    const options: StdioSpawnOptions = { command: path.join(dir, 'no-such-command'), args: [], env: {} };
    const early = startEarlyStdioChild(options);
    assert.equal(early.pid, undefined);
    const transport = new LimitedStdioTransport({ ...options, maxMessageBytes: 1 << 20, early });
    await assert.rejects(transport.start(), { code: 'ENOENT' });
    await transport.close();
  });

  it('is stopped when it is closed before any transport took it, and is then never handed out', async () => {
    const { options, log } = echoChild();
    const early = startEarlyStdioChild(options);
    await eventually(() => spawnedPids(log).length === 1, 'the early child to start');
    await early.close();
    assert.equal(isRunning(early.pid!), false);
    assert.equal(early.take(options), undefined);
  });

  it('is stopped by closing a transport that was never started', async () => {
    const { options, log } = echoChild();
    const early = startEarlyStdioChild(options);
    await eventually(() => spawnedPids(log).length === 1, 'the early child to start');
    await new LimitedStdioTransport({ ...options, maxMessageBytes: 1 << 20, early }).close();
    assert.equal(isRunning(early.pid!), false);
  });

  it('is stopped before close() resolves by closing a connector that never connected', async () => {
    const { options, log } = echoChild();
    const early = startEarlyStdioChild(options);
    await eventually(() => spawnedPids(log).length === 1, 'the early child to start');
    const connector = createMcpConnector(
      { id: 'never-connected', kind: 'mcp', transport: 'stdio', ...options, args: [...options.args] },
      { earlyChild: early },
    );
    await connector.close();
    assert.equal(isRunning(early.pid!), false);
    assert.equal(spawnedPids(log).length, 1, 'nothing else was spawned');
  });
});
