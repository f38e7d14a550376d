/**
 * `portcullis agents disable|enable ID`: the operator kill switch, through the gateway's operator API.
 * The operator token comes from `--token` or PORTCULLIS_OPERATOR_TOKEN (prefer the variable: command
 * lines are visible to other local users). The router that serves these calls is re-exported here.
 */
import { Command, Option } from 'commander';

export { createAgentsRouter, type AgentsRouterOptions } from '../../operator/index.js';

export class AgentsCommandError extends Error {
  override readonly name = 'AgentsCommandError';
  readonly code = 'OPERATOR_API_FAILED';
}

export interface AgentsCommandDeps {
  fetch?: typeof fetch;
  write?: (text: string) => void;
}

interface CommonOptions {
  url: string;
  token?: string;
  reason?: string;
}

export function agentsCommand(deps: AgentsCommandDeps = {}): Command {
  const doFetch = deps.fetch ?? fetch;
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  const command = new Command('agents').description('operator actions on agents (kill switch)');

  async function call(action: 'disable' | 'enable', agentId: string, options: CommonOptions): Promise<void> {
    if (options.token === undefined || options.token === '') {
      throw new AgentsCommandError('an operator token is required (--token or PORTCULLIS_OPERATOR_TOKEN)');
    }
    let url: URL;
    try {
      url = new URL(
        `v1/agents/${encodeURIComponent(agentId)}/${action}`,
        options.url.endsWith('/') ? options.url : `${options.url}/`,
      );
    } catch {
      throw new AgentsCommandError('--url is not a valid URL');
    }
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(options.reason !== undefined ? { reason: options.reason } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new AgentsCommandError(`gateway at ${url.origin} cannot be reached`);
    }
    const body = (await response.json().catch(() => undefined)) as
      { error?: { code?: string; message?: string } } | undefined;
    if (!response.ok) {
      const detail =
        body?.error !== undefined
          ? `${body.error.code ?? 'ERROR'}: ${body.error.message ?? ''}`
          : `HTTP ${response.status}`;
      throw new AgentsCommandError(`${action} ${agentId} failed (${detail})`);
    }
    write(`agent ${agentId} ${action}d\n`);
  }

  for (const action of ['disable', 'enable'] as const) {
    const sub = command
      .command(action)
      .argument('<id>', 'agent id')
      .description(
        action === 'disable'
          ? 'stop every credential of an agent from working, on all instances'
          : 'allow a disabled agent again',
      )
      .addOption(new Option('--url <url>', 'gateway base URL').default('http://127.0.0.1:8787'))
      .addOption(new Option('--token <token>', 'operator API token').env('PORTCULLIS_OPERATOR_TOKEN'));
    if (action === 'disable') sub.option('--reason <text>', 'why (recorded in the audit log)');
    sub.action(async (id: string, options: CommonOptions) => call(action, id, options));
  }
  return command;
}
