/**
 * Child processes for the benchmark targets: start one, wait until it is ready, stop it for sure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

export interface Child {
  process: ChildProcess;
  /** Recent stderr, for error messages. */
  stderr(): string;
  stop(): Promise<void>;
}

export class ChildStartError extends Error {
  readonly code = 'CHILD_START_FAILED';
  override readonly name = 'ChildStartError';
}

function track(child: ChildProcess): { stderr: () => string; stop: () => Promise<void> } {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8_000)));
  return {
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Spawn and resolve with the first capture group of `ready` once it appears on stdout. */
export async function spawnUntilLine(
  command: string,
  args: readonly string[],
  ready: RegExp,
  cwd: string,
  timeoutMs = 30_000,
): Promise<Child & { match: string }> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = track(child);
  let stdout = '';
  try {
    const match = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ChildStartError(`not ready after ${timeoutMs} ms`)), timeoutMs);
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const found = ready.exec(stdout);
        if (found?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new ChildStartError(`exited with code ${code} before it was ready`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    child.stdout?.resume();
    return { process: child, match, ...tracked };
  } catch (error) {
    await tracked.stop();
    throw new ChildStartError(
      `${command} ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}\n${tracked.stderr()}`,
    );
  }
}

/** Spawn and resolve once `port` on 127.0.0.1 accepts connections (for programs that print no usable line). */
export async function spawnUntilListening(
  command: string,
  args: readonly string[],
  port: number,
  cwd: string,
  timeoutMs = 30_000,
): Promise<Child> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const tracked = track(child);
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (!exited && Date.now() < deadline) {
    if (await canConnect(port)) return { process: child, ...tracked };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await tracked.stop();
  throw new ChildStartError(
    `${command} ${args.join(' ')}: ${exited ? 'exited' : 'not listening'} before it was ready\n${tracked.stderr()}`,
  );
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port that was free a moment ago (for programs that cannot listen on port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}
