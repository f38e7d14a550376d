/**
 * A redis-server of the test's own, on a free loopback port, that the test can kill and start again, with
 * or without persistence (AOF with fsync on every write, or nothing at all).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RedisProcess {
  url: string;
  port: number;
  /** Start (again) on the same port; `persist: false` starts empty whatever was there before. */
  start(options?: { persist?: boolean }): Promise<void>;
  /** SIGKILL: no save, no goodbye. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedisProcess(options: { persist?: boolean } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-redis-'));
  let child: ChildProcess | undefined;

  async function start(startOptions: { persist?: boolean } = options): Promise<void> {
    const persist = startOptions.persist ?? false;
    if (!persist) await rm(path.join(dir, 'appendonlydir'), { recursive: true, force: true });
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      persist ? 'yes' : 'no',
      '--appendfsync',
      'always',
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (/Ready to accept connections/.test(out)) {
          // Nothing more to read; an open pipe would keep the test process alive.
          proc.stdout!.destroy();
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
  }

  async function kill(): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  await start(options);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill,
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
