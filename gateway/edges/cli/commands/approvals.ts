/**
 * `portcullis approvals list|show|approve|deny` against a running gateway's operator API.
 * The gateway URL and operator token come from --url/--token or PORTCULLIS_URL/PORTCULLIS_OPERATOR_TOKEN.
 * Exit codes: 0 done, 1 refused by the gateway (not found, not pending, self-approval, reason required),
 * 2 usage error or gateway unreachable.
 */
import { Command, Option } from 'commander';

interface Connection {
  url: string;
  token: string;
}

interface TicketView {
  id: string;
  status: string;
  agentId: string;
  taskId: string;
  intent?: string;
  tool: string;
  operation?: { method: string; url: string };
  args: Record<string, unknown>;
  rules: string[];
  justification?: string;
  createdAt: string;
  expiresAt: string;
  requiredApprovers: number;
  decisions: { approver: string; approve: boolean; reason: string; at: string }[];
  grant?: { scope: string; expiresAt: string };
  traceUrl?: string;
}

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

function connectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'gateway base URL').env('PORTCULLIS_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--token <token>', 'operator token').env('PORTCULLIS_OPERATOR_TOKEN'))
    .option('--json', 'print JSON');
}

async function call(connection: Connection, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(new URL(path, connection.url), {
      method,
      headers: {
        authorization: `Bearer ${connection.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new CliFailure(
      `cannot reach ${connection.url}: ${error instanceof Error ? error.message : String(error)}`,
      2,
    );
  }
  const payload = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!response.ok) {
    const code = payload.error?.code ?? `HTTP_${response.status}`;
    throw new CliFailure(
      `${code}: ${payload.error?.message ?? response.statusText}`,
      response.status === 401 || response.status >= 500 ? 2 : 1,
    );
  }
  return payload;
}

function connectionFrom(options: { url: string; token?: string }): Connection {
  if (options.token === undefined || options.token === '')
    throw new CliFailure('an operator token is required (--token or PORTCULLIS_OPERATOR_TOKEN)', 2);
  return { url: options.url, token: options.token };
}

function describe(ticket: TicketView): string {
  const lines = [
    `${ticket.id}  ${ticket.status.toUpperCase()}`,
    `  agent      ${ticket.agentId}   task ${ticket.taskId}`,
    ...(ticket.intent !== undefined ? [`  intent     ${ticket.intent}`] : []),
    `  tool       ${ticket.tool}`,
    ...(ticket.operation !== undefined ? [`  operation  ${ticket.operation.method} ${ticket.operation.url}`] : []),
    `  arguments  ${JSON.stringify(ticket.args)}`,
    `  rules      ${ticket.rules.join(', ') || '-'}`,
    ...(ticket.justification !== undefined ? [`  why        ${ticket.justification}`] : []),
    `  requested  ${ticket.createdAt}   expires ${ticket.expiresAt}   approvers needed ${ticket.requiredApprovers}`,
    ...ticket.decisions.map(
      (d) => `  ${d.approve ? 'approved' : 'denied  '}   by ${d.approver} at ${d.at}${d.reason ? `: ${d.reason}` : ''}`,
    ),
    ...(ticket.grant !== undefined ? [`  grant      ${ticket.grant.scope} until ${ticket.grant.expiresAt}`] : []),
    ...(ticket.traceUrl !== undefined ? [`  trace      ${ticket.traceUrl}`] : []),
  ];
  return lines.join('\n');
}

function print(value: unknown, asJson: boolean | undefined, human: () => string): void {
  process.stdout.write(`${asJson === true ? JSON.stringify(value, null, 2) : human()}\n`);
}

function run(action: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof CliFailure)) throw error;
      process.stderr.write(`portcullis approvals: ${error.message}\n`);
      process.exitCode = error.exitCode;
    }
  };
}

export function approvalsCommand(): Command {
  const command = new Command('approvals').description('list and decide elevation requests on a running gateway');

  const list = connectionOptions(command.command('list').description('list requests (pending by default)'))
    .option('--status <status>', 'pending | approved | denied | expired | all', 'pending')
    .option('--agent <id>', 'only this agent')
    .option('--task <id>', 'only this task');
  list.action(
    async (opts: { url: string; token?: string; json?: boolean; status: string; agent?: string; task?: string }) =>
      run(async () => {
        const query = new URLSearchParams();
        if (opts.status !== 'all') query.set('status', opts.status);
        if (opts.agent !== undefined) query.set('agent', opts.agent);
        if (opts.task !== undefined) query.set('task', opts.task);
        const result = (await call(connectionFrom(opts), 'GET', `/v1/approvals?${query}`)) as {
          approvals: TicketView[];
        };
        print(result, opts.json, () =>
          result.approvals.length === 0
            ? 'no requests'
            : result.approvals
                .map(
                  (t) =>
                    `${t.id}  ${t.status.padEnd(8)}  ${t.agentId}  ${t.tool}${t.operation ? `  ${t.operation.method} ${t.operation.url}` : ''}`,
                )
                .join('\n'),
        );
      })(),
  );

  const show = connectionOptions(
    command.command('show').argument('<id>').description('show one request with its full context'),
  );
  show.action(async (id: string, opts: { url: string; token?: string; json?: boolean }) =>
    run(async () => {
      const ticket = (await call(connectionFrom(opts), 'GET', `/v1/approvals/${encodeURIComponent(id)}`)) as TicketView;
      print(ticket, opts.json, () => describe(ticket));
    })(),
  );

  const approve = connectionOptions(command.command('approve').argument('<id>').description('approve a request'))
    .option('--reason <text>', 'why (may be required by configuration)')
    .option('--ttl <seconds>', 'grant lifetime in seconds (capped by configuration)', (v) => Number(v))
    .option('--scope <scope>', 'call (exactly this call) | task-tool (this tool for the rest of the task)', 'call');
  approve.action(
    async (
      id: string,
      opts: { url: string; token?: string; json?: boolean; reason?: string; ttl?: number; scope: string },
    ) =>
      run(async () => {
        if (opts.ttl !== undefined && (!Number.isInteger(opts.ttl) || opts.ttl <= 0))
          throw new CliFailure('--ttl must be a positive number of seconds', 2);
        if (opts.scope !== 'call' && opts.scope !== 'task-tool')
          throw new CliFailure('--scope must be call or task-tool', 2);
        const ticket = (await call(connectionFrom(opts), 'POST', `/v1/approvals/${encodeURIComponent(id)}/approve`, {
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          ...(opts.ttl !== undefined ? { ttlSeconds: opts.ttl } : {}),
          scope: opts.scope,
        })) as TicketView;
        print(ticket, opts.json, () => describe(ticket));
      })(),
  );

  const deny = connectionOptions(command.command('deny').argument('<id>').description('deny a request')).requiredOption(
    '--reason <text>',
    'why (sent back to the agent)',
  );
  deny.action(async (id: string, opts: { url: string; token?: string; json?: boolean; reason: string }) =>
    run(async () => {
      const ticket = (await call(connectionFrom(opts), 'POST', `/v1/approvals/${encodeURIComponent(id)}/deny`, {
        reason: opts.reason,
      })) as TicketView;
      print(ticket, opts.json, () => describe(ticket));
    })(),
  );

  return command;
}
