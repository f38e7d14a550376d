import { Command } from 'commander';
import type * as GatewayMain from '../../../main.js';
import { ConfigError, loadConfigFile, type LoadedConfig } from '../../../config/index.js';
import { startStdioUpstreams, type EarlyUpstreams } from '../../../services/catalog/index.js';

/**
 * The composition root, loaded when a command actually starts a gateway: `--help` and option errors do not
 * pay for loading every service.
 */
export function loadGateway(): Promise<typeof GatewayMain> {
  return import('../../../main.js');
}

export function startCommand(): Command {
  return new Command('start')
    .description('run the gateway (Streamable HTTP at /mcp)')
    .requiredOption('-c, --config <file>', 'portcullis.yaml')
    .action(async (options: { config: string }) => {
      const loaded = await loadOrExit(options.config);
      if (loaded === undefined) return;
      const gateway = await whileUpstreamsStart(loaded, async (earlyUpstreams) => {
        const { startGateway } = await loadGateway();
        return startGateway({ loaded, earlyUpstreams });
      });
      // With the audit export on stdout, stdout carries audit records only.
      const banner = loaded.config.audit.export === 'stdout' ? process.stderr : process.stdout;
      banner.write(`Portcullis listening on ${gateway.mcpUrl}\n`);
      await untilSignal();
      // The drain, then at most SHUTDOWN_LIMIT_MS to close everything.
      await exitWhenClosed(() => gateway.close(), loaded.config.shutdown.drainSeconds * 1000 + SHUTDOWN_LIMIT_MS);
    });
}

/** Longest time shutdown may take after the drain before the process exits anyway (exit code 1). */
const SHUTDOWN_LIMIT_MS = 30_000;

/**
 * Bounded exit: close everything (the audit log is flushed and checkpointed in there), then end the
 * process. Whatever close() cannot reach (a socket to a collector that never answers, a connection a
 * library keeps retrying) must not keep the process alive; and if close() itself hangs, the process still
 * exits after SHUTDOWN_LIMIT_MS, with exit code 1 so supervisors see it.
 */
export async function exitWhenClosed(close: () => Promise<void>, limitMs = SHUTDOWN_LIMIT_MS): Promise<never> {
  setTimeout(() => {
    process.stderr.write('shutdown did not finish in time; exiting\n');
    process.exit(1);
  }, limitMs).unref();
  let code = 0;
  try {
    await close();
  } catch (error) {
    process.stderr.write(`shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
    code = 1;
  }
  process.exit(typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : code);
}

export function stdioCommand(): Command {
  return new Command('stdio')
    .description('serve MCP over stdin/stdout, for desktop clients that launch the gateway')
    .requiredOption('-c, --config <file>', 'portcullis.yaml')
    .option('-a, --agent <id>', 'agent to act as (required when several are configured)')
    .action(async (options: { config: string; agent?: string }) => {
      const loaded = await loadOrExit(options.config);
      if (loaded === undefined) return;
      const gateway = await whileUpstreamsStart(loaded, async (earlyUpstreams) => {
        const { startStdioGateway } = await loadGateway();
        return startStdioGateway({
          loaded,
          earlyUpstreams,
          ...(options.agent !== undefined ? { agentId: options.agent } : {}),
        });
      });
      await untilSignal(process.stdin);
      await gateway.close();
    });
}

/**
 * Starts the configuration's stdio upstream servers, then `start` (loading and opening the gateway), so
 * that their start-up overlaps the gateway's: loading the gateway's modules takes about as long as a small
 * Node upstream takes to start. Children no connector adopted are stopped once `start` settles (start-up
 * failed, or stopped at a configuration check).
 */
export async function whileUpstreamsStart<T>(
  loaded: LoadedConfig,
  start: (earlyUpstreams: EarlyUpstreams) => Promise<T>,
): Promise<T> {
  const earlyUpstreams = startStdioUpstreams(loaded.config.connectors, loaded.baseDir);
  try {
    return await start(earlyUpstreams);
  } finally {
    await earlyUpstreams.close();
  }
}

export async function loadOrExit(file: string): Promise<Awaited<ReturnType<typeof loadConfigFile>> | undefined> {
  try {
    return await loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
    return undefined;
  }
}

/** Resolves on SIGINT/SIGTERM, or when the given input stream ends (stdio clients closing the pipe). */
export function untilSignal(input?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    input?.once('end', done);
    input?.once('close', done);
  });
}
