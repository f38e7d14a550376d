import { Command } from 'commander';
import type * as GatewayMain from '../../../main.js';
import { ConfigError, loadConfigFile } from '../../../config/index.js';

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
      const { startGateway } = await loadGateway();
      const gateway = await startGateway({ loaded });
      process.stdout.write(`Portcullis listening on ${gateway.mcpUrl}\n`);
      await untilSignal();
      await gateway.close();
    });
}

export function stdioCommand(): Command {
  return new Command('stdio')
    .description('serve MCP over stdin/stdout, for desktop clients that launch the gateway')
    .requiredOption('-c, --config <file>', 'portcullis.yaml')
    .option('-a, --agent <id>', 'agent to act as (required when several are configured)')
    .action(async (options: { config: string; agent?: string }) => {
      const loaded = await loadOrExit(options.config);
      if (loaded === undefined) return;
      const { startStdioGateway } = await loadGateway();
      const gateway = await startStdioGateway({
        loaded,
        ...(options.agent !== undefined ? { agentId: options.agent } : {}),
      });
      await untilSignal(process.stdin);
      await gateway.close();
    });
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
