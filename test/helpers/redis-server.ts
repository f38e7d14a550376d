/**
 * A private redis-server for a test run, so tests never write into whatever Redis happens to answer on the
 * standard port (on a developer's machine that may be a real one).
 *
 * The server listens on a free loopback port and keeps nothing on disk. It lives exactly as long as the
 * process that started it: it runs under a small shell watchdog that reads the starter's pipe and kills the
 * server when that pipe closes, which happens on `stop()`, on a normal exit and on a crash or SIGKILL alike.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';

/** The environment variable that names a Redis the tests may use instead of starting their own. */
export const TEST_REDIS_URL_VARIABLE = 'PORTCULLIS_TEST_REDIS_URL';

export const REDIS_INSTALL_HINT =
  'redis-server is not installed. Install it (Debian/Ubuntu: `apt-get install -y redis-server`; ' +
  'macOS: `brew install redis`), or set PORTCULLIS_TEST_REDIS_URL to a Redis the tests may write to.';

export class RedisServerMissingError extends Error {
  readonly code = 'REDIS_SERVER_MISSING';
  constructor() {
    super(REDIS_INSTALL_HINT);
    this.name = 'RedisServerMissingError';
  }
}

export interface TestRedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server and waits until it has exited. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 5;
// Runs redis-server with the arguments after the script; kills it once stdin (the starter's pipe) closes.
// (A background job's stdin is /dev/null unless redirected, hence the pipe is kept on fd 3 for `cat`.)
const WATCHDOG =
  'exec 3<&0; redis-server "$@" </dev/null 3<&- & server=$!; ' +
  '(cat <&3 >/dev/null; kill "$server" 2>/dev/null) & exec 3<&-; wait "$server"';

export function redisServerInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
}

/** Starts a private redis-server on a free loopback port. Throws RedisServerMissingError when not installed. */
export async function startTestRedisServer(): Promise<TestRedisServer> {
  if (!redisServerInstalled()) throw new RedisServerMissingError();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt += 1) {
    // The port is free when probed; another process may take it before redis binds it, hence the retries.
    const port = await freeLoopbackPort();
    try {
      return await startOn(port);
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw new Error(`could not start redis-server after ${START_ATTEMPTS} attempts: ${lastError?.message ?? ''}`);
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address for the probe socket');
  return address.port;
}

function startOn(port: number): Promise<TestRedisServer> {
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1'],
    ...['--save', '', '--appendonly', 'no', '--dir', tmpdir()],
    ...['--logfile', '', '--loglevel', 'notice'],
  ];
  const child = spawn('sh', ['-c', WATCHDOG, 'redis-watchdog', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise<TestRedisServer>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} not ready in time`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        cleanupListeners();
        resolve(handle(child, port));
      } else if (/Address already in use|Could not create server TCP listening socket/.test(output)) {
        fail(new Error(`port ${port} is taken`));
      }
    };
    const onExit = (code: number | null): void => fail(new Error(`redis-server exited (${code}): ${output.trim()}`));
    function cleanupListeners(): void {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(error: Error): void {
      cleanupListeners();
      child.stdin.end();
      reject(error);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  });
}

function handle(child: ChildProcessWithoutNullStreams, port: number): TestRedisServer {
  // Keep draining the server's output so a full pipe never blocks it; once running, the server must not keep
  // the starter alive (the pipe still closes when the starter exits, and the watchdog then stops the server).
  child.stdout.resume();
  child.stderr.resume();
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void }).unref?.();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      // Waiting for the exit must keep this process alive until the server is gone.
      child.ref();
      child.stdin.end();
      await exited;
    },
  };
}
