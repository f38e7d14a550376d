/**
 * The gateway's Node runtime flags (docs/operations.md, "Node runtime flags") are the same wherever it is
 * launched: the `portcullis` command's first line, `npm start` and the container image's entry point. The
 * command, executed as installed (through its shebang), really runs node with them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI_COMPILED, nodeFlagsOf, nodeFlagsOfShebang, REPO_ROOT } from './fixtures/gateway-process.js';

describe('Node runtime flags', () => {
  it('are read from a node shebang, and nothing else is taken for one', () => {
    assert.deepEqual(nodeFlagsOfShebang('#!/usr/bin/env -S node --a=1 --b\nrest'), ['--a=1', '--b']);
    assert.deepEqual(nodeFlagsOfShebang('#!/usr/bin/env node\n'), []);
    assert.throws(() => nodeFlagsOfShebang('#!/bin/sh\nexec node'), /no node shebang/);
    assert.throws(() => nodeFlagsOfShebang('// no shebang'), /no node shebang/);
  });

  it('cap the young generation and how far the old one grows, and npm start and the image pass the same flags', async () => {
    const flags = nodeFlagsOf(CLI_COMPILED);
    assert.ok(flags.includes('--max-semi-space-size=16'), `flags of bin/portcullis.js: ${flags.join(' ')}`);
    assert.ok(flags.includes('--heap-growing-percent=100'), `flags of bin/portcullis.js: ${flags.join(' ')}`);

    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    assert.equal(pkg.scripts['start'], ['node', ...flags, 'bin/portcullis.js', 'demo'].join(' '));

    const dockerfile = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    assert.ok(entrypoint !== undefined, 'the Dockerfile has an exec-form ENTRYPOINT');
    assert.deepEqual(JSON.parse(entrypoint), ['node', ...flags, 'bin/portcullis.js']);
  });

  it('are what node runs with when the command is executed as installed', async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'portcullis-flags-'));
    // Executed directly, as npm's bin link runs it: the kernel reads the shebang, env finds node on PATH.
    const child = spawn(CLI_COMPILED, ['demo', '--port', '0', '--api-port', '0', '--state-dir', state], {
      cwd: state,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, HOME: state },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 60_000);
        child.stdout.on('data', () => {
          if (/Portcullis listening on /.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`demo exited (${code}):\n${output}`));
        });
      });
      // env execs node in the same process: its command line is the gateway's.
      const argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
      assert.equal(path.basename(argv[0]!), 'node');
      assert.deepEqual(argv.slice(1, 1 + nodeFlagsOf(CLI_COMPILED).length), nodeFlagsOf(CLI_COMPILED));
      assert.equal(argv[1 + nodeFlagsOf(CLI_COMPILED).length], CLI_COMPILED);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(state, { recursive: true, force: true });
    }
  });
});
