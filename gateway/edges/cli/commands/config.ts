import { Command } from 'commander';
import { ConfigError, loadConfigFile, gatewayConfigJsonSchema } from '../../../config/index.js';
import { checkConnectors } from '../connector-check.js';

export interface ConfigCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  setExitCode(code: number): void;
}

const processIo: ConfigCliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  setExitCode: (code) => void (process.exitCode = code),
};

export function configCommand(io: ConfigCliIo = processIo): Command {
  const command = new Command('config').description('check and describe gateway configuration files');
  command
    .command('validate')
    .argument('<file>', 'portcullis.yaml to check')
    .description(
      'validate a configuration file and the OpenAPI documents it names; prints every problem with the path to the bad key',
    )
    .action(async (file: string) => {
      try {
        const loaded = await loadConfigFile(file);
        const { connectors, agents, policy } = loaded.config;
        const checks = await checkConnectors(loaded.config, loaded.baseDir);
        let failed = false;
        for (const check of checks) {
          if (check.error !== undefined) {
            failed = true;
            io.stderr(`${check.error}\n`);
            continue;
          }
          const skipped = check.warnings.length;
          io.stdout(
            `connector ${check.id}: ${check.tools} tools${skipped > 0 ? `, ${skipped} OpenAPI operations or parameters skipped:` : ''}\n`,
          );
          for (const warning of check.warnings) io.stdout(`  ${warning}\n`);
        }
        if (failed) {
          io.stderr(`${loaded.file}: invalid\n`);
          io.setExitCode(1);
          return;
        }
        io.stdout(
          `${loaded.file}: valid (${connectors.length} connectors, ${agents.length} agents, ${policy.files.length} policy files)\n`,
        );
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        io.stderr(`${error.message}\n`);
        io.setExitCode(1);
      }
    });
  command
    .command('schema')
    .description('print the JSON Schema of the configuration file (for editors)')
    .action(() => {
      io.stdout(`${JSON.stringify(gatewayConfigJsonSchema(), null, 2)}\n`);
    });
  return command;
}
