/**
 * Commands that start a gateway start its stdio upstream servers first, while the gateway loads: the
 * upstream is running before the gateway is opened, its connector adopts that same process (it is
 * spawned once), and a start-up that fails stops it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { parseConfigText } from '../gateway/config/load.js';
import { whileUpstreamsStart } from '../gateway/edges/cli/commands/start.js';
import { silentLogger } from '../gateway/kernel/log.js';
import { startGateway } from '../gateway/main.js';
import { isRunning, spawnedPids } from './fixtures/spawn-log.js';
import { eventually } from './helpers/eventually.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-early-upstreams-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const UPSTREAM_ARGS = ['--import', 'tsx', path.join(here, 'fixtures', 'mcp-upstream-stdio.ts')];

let configs = 0;
/**
 * The upstream's pid is logged by a shell as the process starts, before it becomes the upstream (`exec`),
 * rather than by the upstream once it has loaded: a start-up that fails stops the upstream after a grace of
 * 2 s, which on a loaded machine can come before the upstream has loaded and could log itself.
 */
function configWithStdioUpstream(auditFile?: string): {
  loaded: ReturnType<typeof parseConfigText>;
  spawnLog: string;
} {
  configs += 1;
  const spawnLog = path.join(dir, `spawns-${configs}.log`);
  const file = path.join(dir, `portcullis-${configs}.yaml`);
  const upstream = {
    command: '/bin/sh',
    args: ['-c', 'echo $$ >> "$EXEC_SPAWN_LOG" && exec "$0" "$@"', process.execPath, ...UPSTREAM_ARGS],
    env: { EXEC_SPAWN_LOG: spawnLog },
  };
  const text = stringify({
    listen: { host: '127.0.0.1', port: 0 },
    audit: { file: auditFile ?? path.join(dir, `audit-${configs}.jsonl`) },
    policy: { watch: false },
    connectors: [{ id: 'kb', kind: 'mcp', transport: 'stdio', ...upstream, cwd: root }],
    agents: [{ id: 'agent', tools: ['kb_*'] }],
  });
  return { loaded: parseConfigText(text, file), spawnLog };
}

describe('stdio upstreams started while the gateway loads', () => {
  it('run before the gateway is opened, and the connector adopts that process', async () => {
    const { loaded, spawnLog } = configWithStdioUpstream();
    const gateway = await whileUpstreamsStart(loaded, async (earlyUpstreams) => {
      // Nothing of the gateway is open yet: only the command can have started the upstream.
      await eventually(() => spawnedPids(spawnLog).length === 1, 'the upstream to start before the gateway');
      return startGateway({ loaded, earlyUpstreams, env: {}, logger: silentLogger() });
    });
    try {
      const tools = gateway.pipeline
        .listTools({ agentId: 'agent', roles: [], authMethod: 'api-key' })
        .map((tool) => tool.name);
      assert.ok(tools.length > 0 && tools.every((name) => name.startsWith('kb_')), `tools: ${tools.join(', ')}`);
      const [pid] = spawnedPids(spawnLog);
      assert.equal(spawnedPids(spawnLog).length, 1, 'the upstream was spawned again instead of adopted');
      assert.ok(isRunning(pid!));
    } finally {
      await gateway.close();
    }
  });

  it('are stopped when start-up fails', async () => {
    const { loaded, spawnLog } = configWithStdioUpstream();
    await assert.rejects(
      whileUpstreamsStart(loaded, async () => {
        await eventually(() => spawnedPids(spawnLog).length === 1, 'the upstream to start');
        throw new Error('start-up failed');
      }),
      /start-up failed/,
    );
    const [pid] = spawnedPids(spawnLog);
    assert.equal(isRunning(pid!), false);
  });

  it('started by the gateway itself when the command did not: still one process', async () => {
    const { loaded, spawnLog } = configWithStdioUpstream();
    const gateway = await startGateway({ loaded, env: {}, logger: silentLogger() });
    try {
      assert.equal(gateway.pipeline.listTools({ agentId: 'agent', roles: [], authMethod: 'api-key' }).length > 0, true);
      assert.equal(spawnedPids(spawnLog).length, 1);
    } finally {
      await gateway.close();
    }
  });

  it('started by the gateway itself before it opens its parts, and stopped when one of them fails', async () => {
    // The audit log cannot be opened (its folder is a file): start-up fails after the configuration checks.
    const notAFolder = path.join(dir, 'not-a-folder');
    writeFileSync(notAFolder, '');
    const { loaded, spawnLog } = configWithStdioUpstream(path.join(notAFolder, 'audit.jsonl'));
    await assert.rejects(startGateway({ loaded, env: {}, logger: silentLogger() }));
    await eventually(() => spawnedPids(spawnLog).length === 1, 'the upstream started before the audit log was opened');
    const [pid] = spawnedPids(spawnLog);
    await eventually(() => !isRunning(pid!), 'the upstream to be stopped');
  });
});
