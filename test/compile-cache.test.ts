/**
 * The `portcullis` command keeps Node's compile cache (docs/operations.md, "Compile cache") in the user's
 * own cache folder, so a second start reuses the bytecode of the first; Node's own variables choose another
 * folder or turn it off, and a folder that cannot be written never stops the command.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_COMPILED, nodeFlagsOf } from './fixtures/gateway-process.js';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'portcullis-compile-cache-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `portcullis --help` with exactly this environment (plus PATH); its exit status and output. */
function runHelp(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...nodeFlagsOf(CLI_COMPILED), CLI_COMPILED, '--help'], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file below `dir` (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

async function freshDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('compile cache of the portcullis command', () => {
  it('is written under $HOME/.cache/portcullis by default, and only there', async () => {
    const home = await freshDir('home');
    const result = runHelp({ HOME: home });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Usage: portcullis/);
    const files = await filesUnder(path.join(home, '.cache', 'portcullis', 'compile-cache'));
    assert.ok(files.length > 0, 'the first run fills the cache');
    assert.deepEqual(await readdir(home), ['.cache'], 'nothing else is written in the home folder');

    // The second run reads the same files: the cache is not rebuilt (no new file, none rewritten).
    const before = await Promise.all(files.map(async (file) => (await stat(file)).mtimeMs));
    assert.equal(runHelp({ HOME: home }).status, 0);
    const again = await filesUnder(path.join(home, '.cache', 'portcullis', 'compile-cache'));
    assert.deepEqual(again.sort(), [...files].sort());
    assert.deepEqual(await Promise.all(files.map(async (file) => (await stat(file)).mtimeMs)), before);
  });

  it('follows an absolute XDG_CACHE_HOME, and ignores a relative one', async () => {
    const home = await freshDir('xdg-home');
    const cacheHome = await freshDir('xdg-cache');
    assert.equal(runHelp({ HOME: home, XDG_CACHE_HOME: cacheHome }).status, 0);
    assert.ok((await filesUnder(path.join(cacheHome, 'portcullis', 'compile-cache'))).length > 0);
    assert.deepEqual(await filesUnder(home), []);

    const relativeHome = await freshDir('xdg-relative-home');
    const result = spawnSync(process.execPath, [...nodeFlagsOf(CLI_COMPILED), CLI_COMPILED, '--help'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: relativeHome, XDG_CACHE_HOME: 'relative-cache' },
      cwd: relativeHome,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      (await readdir(relativeHome)).sort(),
      ['.cache'],
      'a relative XDG_CACHE_HOME is not taken as a folder',
    );
  });

  it('is written where NODE_COMPILE_CACHE says, and not at all with NODE_DISABLE_COMPILE_CACHE', async () => {
    const home = await freshDir('node-env-home');
    const chosen = await freshDir('node-env-cache');
    assert.equal(runHelp({ HOME: home, NODE_COMPILE_CACHE: chosen }).status, 0);
    assert.ok((await filesUnder(chosen)).length > 0);
    assert.deepEqual(await filesUnder(home), []);

    const disabledHome = await freshDir('disabled-home');
    const result = runHelp({ HOME: disabledHome, NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(await filesUnder(disabledHome), []);
  });

  it('never stops the command when the folder cannot be written', async () => {
    const home = await freshDir('read-only-home');
    await chmod(home, 0o555);
    try {
      // As root the mode does not stop writes; a cache folder whose parent is a file stops everyone.
      const blocked = await freshDir('blocked');
      const file = path.join(blocked, 'not-a-folder');
      await writeFile(file, '');
      for (const env of [{ HOME: home }, { HOME: home, XDG_CACHE_HOME: file }]) {
        const result = runHelp(env);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /Usage: portcullis/);
        assert.equal(result.stderr, '');
      }
    } finally {
      await chmod(home, 0o755);
    }
  });
});
