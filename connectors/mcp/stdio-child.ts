/**
 * A stdio upstream's child process: how it is spawned and stopped, and how it can be started ahead of its
 * connection.
 *
 * Starting ahead: an upstream server's own start-up (loading its runtime and libraries) often takes a few
 * hundred milliseconds or more, during which a gateway that spawns it only when the connector connects sits
 * idle. `startEarlyStdioChild` spawns it as soon as the configuration is known; the connector's first
 * connection then adopts the running child (LimitedStdioTransport) instead of spawning one, so the two
 * start-ups overlap. Nothing is written to the child before it is adopted. A child is adopted only by a
 * transport that would spawn exactly the same command, arguments, environment and folder, and only while
 * it runs; otherwise it is stopped and the transport spawns its own, as it always did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';

export interface StdioSpawnOptions {
  command: string;
  args: readonly string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  cwd?: string;
}

/** The child's stderr is its own diagnostics channel: it goes to the gateway's stderr, never to agents. */
export function spawnStdioChild(options: StdioSpawnOptions): ChildProcess {
  return spawn(options.command, [...options.args], {
    env: options.env,
    stdio: ['pipe', 'pipe', 'inherit'],
    shell: false,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
}

const CLOSE_GRACE_MS = 2000;

/** Ends a child as the SDK's stdio client transport does: stdin closed, then SIGTERM, then SIGKILL. */
export async function stopStdioChild(child: ChildProcess, graceMs = CLOSE_GRACE_MS): Promise<void> {
  if (child.pid === undefined) return; // it never started: nothing to stop
  const closed = new Promise<void>((resolve) => {
    if (hasExited(child)) resolve();
    else child.once('close', () => resolve());
  });
  const grace = (): Promise<void> =>
    Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref())]);
  child.stdin?.end();
  await grace();
  if (!hasExited(child)) {
    child.kill('SIGTERM');
    await grace();
  }
  if (!hasExited(child)) child.kill('SIGKILL');
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** A child started before its connection, until the connection adopts it or it is stopped. */
export interface EarlyStdioChild {
  /** The child's process id (undefined when it could not be spawned). */
  readonly pid: number | undefined;
  /**
   * The running child, for a transport that would spawn exactly `wanted`; given out once. Undefined when
   * it failed to start, has exited, was started differently (then it is stopped) or was given out already.
   */
  take(wanted: StdioSpawnOptions): ChildProcess | undefined;
  /** Stops the child unless it was given out. */
  close(): Promise<void>;
}

export function startEarlyStdioChild(options: StdioSpawnOptions): EarlyStdioChild {
  const child = spawnStdioChild(options);
  let failed = false;
  // Until it is adopted, a failure to start is only remembered: the transport then spawns its own child
  // and reports that one's failure as it always did.
  const onError = (): void => {
    failed = true;
  };
  child.on('error', onError);
  let handedOver = false;
  return {
    pid: child.pid,
    take(wanted) {
      if (handedOver) return undefined;
      handedOver = true;
      const running = !failed && child.pid !== undefined && !hasExited(child);
      if (running && sameSpawn(options, wanted)) {
        child.off('error', onError);
        return child;
      }
      void stopStdioChild(child);
      return undefined;
    },
    async close() {
      if (handedOver) return;
      handedOver = true;
      await stopStdioChild(child);
    },
  };
}

/** The same command, arguments, environment and folder (whatever else either options object carries). */
function sameSpawn(a: StdioSpawnOptions, b: StdioSpawnOptions): boolean {
  return isDeepStrictEqual([a.command, a.args, a.env, a.cwd], [b.command, b.args, b.env, b.cwd]);
}
