/** The `portcullis` command tree; `main.ts` parses the process arguments with it. */
import { Command } from 'commander';
import { VERSION } from '../../kernel/index.js';
import { configCommand } from './commands/config.js';
import { keysCommand } from './commands/keys.js';
import { startCommand, stdioCommand } from './commands/start.js';
import { demoCommand } from './commands/demo.js';
import { auditCommand } from './commands/audit.js';
import { approvalsCommand } from './commands/approvals.js';
import { toolsCommand } from './commands/tools.js';
import { agentsCommand } from './commands/agents.js';
import { policyCommand } from './commands/policy.js';

export function createProgram(): Command {
  const program = new Command('portcullis')
    .description(
      'Agent tool-call gateway: MCP in front of your APIs, with per-call policy, scoped credentials and audit',
    )
    .version(VERSION)
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
  return program;
}
