import { Command } from 'commander';
import { digestApiKey, generateApiKey } from '../../../services/auth/index.js';

export function keysCommand(): Command {
  const command = new Command('keys').description('agent API keys');
  command
    .command('new')
    .description('generate an agent API key; put the sha256 line in the config and give the key to the agent')
    .action(() => {
      const key = generateApiKey();
      process.stdout.write(`key:    ${key}\nsha256: ${digestApiKey(key)}\n`);
    });
  command
    .command('digest')
    .argument('<key>', 'an existing key')
    .description('print the sha256 digest of a key, for the config file')
    .action((key: string) => {
      process.stdout.write(`${digestApiKey(key)}\n`);
    });
  return command;
}
