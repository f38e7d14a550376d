/**
 * Config strictness at start: an empty or missing configuration stops `portcullis start` with a clear
 * error and a non-zero exit, and nothing is left listening on the default port.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { cliArgs } from '../fixtures/gateway-process.js';

const run = promisify(execFile);

async function start(configFile: string): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, cliArgs('start', '--config', configFile), { timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string; killed?: boolean };
    assert.notEqual(failed.killed, true, 'the gateway exited by itself');
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('configuration strictness at start', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an empty configuration file is an error, not a gateway on the default port', async () => {
    const file = path.join(dir, 'empty.yaml');
    await writeFile(file, '# to be written\n');
    const result = await start(file);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the configuration is empty/);
  });

  it('a missing configuration file is an error', async () => {
    const result = await start(path.join(dir, 'missing.yaml'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read file \(ENOENT\)/);
  });
});
