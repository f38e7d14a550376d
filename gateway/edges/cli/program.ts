/**
 * The `portcullis` command tree, built for one invocation. Only the subcommand the arguments name is
 * loaded (its module, and through it the gateway); every other subcommand is a stub carrying its name
 * and summary, enough for `portcullis --help`, `--version` and commander's "unknown command" hints.
 * This keeps the common short invocations from loading the whole gateway.
 */
import { Command } from 'commander';
// The version module alone: the kernel's index loads logging and tracing, which `--help` does not need.
import { VERSION } from '../../kernel/version.js';

export interface CommandEntry {
  readonly name: string;
  /** Shown in `portcullis --help`; equal to the loaded command's description (a unit test checks). */
  readonly summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    summary: 'run the gateway (Streamable HTTP at /mcp)',
    load: async () => (await import('./commands/start.js')).startCommand(),
  },
  {
    name: 'stdio',
    summary: 'serve MCP over stdin/stdout, for desktop clients that launch the gateway',
    load: async () => (await import('./commands/start.js')).stdioCommand(),
  },
  {
    name: 'config',
    summary: 'check and describe gateway configuration files',
    load: async () => (await import('./commands/config.js')).configCommand(),
  },
  {
    name: 'keys',
    summary: 'agent API keys',
    load: async () => (await import('./commands/keys.js')).keysCommand(),
  },
  {
    name: 'demo',
    summary: 'run the gateway on the demo configuration, with the demo helpdesk API and knowledge-base MCP server',
    load: async () => (await import('./commands/demo.js')).demoCommand(),
  },
  {
    name: 'audit',
    summary: 'inspect and verify the hash-chained audit log',
    load: async () => (await import('./commands/audit.js')).auditCommand(),
  },
  {
    name: 'approvals',
    summary: 'list and decide elevation requests on a running gateway',
    load: async () => (await import('./commands/approvals.js')).approvalsCommand(),
  },
  {
    name: 'tools',
    summary: 'tool integrity: pinned upstream tool definitions',
    load: async () => (await import('./commands/tools.js')).toolsCommand(),
  },
  {
    name: 'agents',
    summary: 'operator actions on agents (kill switch)',
    load: async () => (await import('./commands/agents.js')).agentsCommand(),
  },
  {
    name: 'store',
    summary: 'the shared state store (Redis): rebuild after data loss',
    load: async () => (await import('./commands/store.js')).storeCommand(),
  },
  {
    name: 'policy',
    summary: 'validate, test and explain policy files (no gateway needed)',
    load: async () => (await import('./commands/policy.js')).policyCommand(),
  },
];

/** The package version, read once from package.json by the kernel. */
export { VERSION };

/**
 * The subcommand `args` (process.argv without node and the script) names: the first operand, or the one
 * after `help` (`portcullis help start` shows the real command's options). Root options take no values.
 */
export function requestedCommand(args: readonly string[]): string | undefined {
  const operands = args.filter((arg) => !arg.startsWith('-'));
  return operands[0] === 'help' ? operands[1] : operands[0];
}

/** The program for these arguments: the named subcommand loaded in full, the others as stubs. */
export async function buildProgram(
  args: readonly string[],
  commands: readonly CommandEntry[] = COMMANDS,
): Promise<Command> {
  const program = new Command('portcullis')
    .description(
      'Agent tool-call gateway: MCP in front of your APIs, with per-call policy, scoped credentials and audit',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const requested = requestedCommand(args);
  for (const entry of commands) {
    program.addCommand(
      entry.name === requested ? await entry.load() : new Command(entry.name).description(entry.summary),
    );
  }
  return program;
}
