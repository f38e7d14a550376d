import { Command } from 'commander';
import { assertConfigUsable, ConfigError, loadConfigFile, gatewayConfigJsonSchema } from '../../../config/index.js';

export function configCommand(): Command {
  const command = new Command('config').description('check and describe gateway configuration files');
  command
    .command('validate')
    .argument('<file>', 'portcullis.yaml to check')
    .description('validate a configuration file; prints every problem with the path to the bad key')
    .action(async (file: string) => {
      try {
        const loaded = await loadConfigFile(file);
        // The same checks the gateway runs when it starts (config/checks.ts).
        assertConfigUsable(loaded);
        const { connectors, agents, policy } = loaded.config;
        process.stdout.write(
          `${loaded.file}: valid (${connectors.length} connectors, ${agents.length} agents, ${policy.files.length} policy files)\n`,
        );
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 1;
      }
    });
  command
    .command('schema')
    .description('print the JSON Schema of the configuration file (for editors)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(gatewayConfigJsonSchema(), null, 2)}\n`);
    });
  return command;
}
