/**
 * `portcullis` command line. Exit codes: 0 success, 1 the thing checked is invalid/failed, 2 usage or I/O
 * error. Only this entry point and gateway/main.ts touch process state (argv, env, exit, signals).
 */
import { Command, CommanderError } from 'commander';
import { configCommand } from './commands/config.js';
import { keysCommand } from './commands/keys.js';
import { startCommand, stdioCommand } from './commands/start.js';
import { demoCommand } from './commands/demo.js';
import { auditCommand } from './commands/audit.js';
import { approvalsCommand } from './commands/approvals.js';
import { toolsCommand } from './commands/tools.js';
import { agentsCommand } from './commands/agents.js';
import { policyCommand } from './commands/policy.js';

const program = new Command('portcullis')
  .description('Agent tool-call gateway: MCP in front of your APIs, with per-call policy, scoped credentials and audit')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

program.addCommand(startCommand());
program.addCommand(stdioCommand());
program.addCommand(configCommand());
program.addCommand(keysCommand());
program.addCommand(demoCommand());
program.addCommand(auditCommand());
program.addCommand(approvalsCommand());
program.addCommand(toolsCommand());
program.addCommand(agentsCommand());
program.addCommand(policyCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`portcullis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
