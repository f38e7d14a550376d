/**
 * `portcullis tools pins|approve` against a running gateway: review pinned upstream tool definitions and
 * trust a quarantined tool's new definition after reading its diff.
 * Exit codes: 0 done, 1 refused (unknown tool, nothing pending, definition changed again), 2 usage/unreachable.
 */
import { Command, Option } from 'commander';
import { CliFailure } from './approvals.js';

interface Finding {
  rule: string;
  weight: number;
  where: string;
  excerpt: string;
  explanation: string;
}

interface Pin {
  connector: string;
  tool: string;
  /** Absent while a tool held on first sight was never approved. */
  hash?: string;
  status: string;
  flags: string[];
  approvedBy?: string;
  pending?: {
    hash: string;
    seenAt: string;
    /** Absent in pins written before first-sight screening existed. */
    reason?: 'new' | 'changed';
    flags: string[];
    score?: number;
    findings?: Finding[];
    changes: { field: string; before: string; after: string }[];
  };
}

function withConnection(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'gateway base URL').env('PORTCULLIS_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--token <token>', 'operator token').env('PORTCULLIS_OPERATOR_TOKEN'))
    .option('--json', 'print JSON');
}

async function request(
  opts: { url: string; token?: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  if (!opts.token) throw new CliFailure('an operator token is required (--token or PORTCULLIS_OPERATOR_TOKEN)', 2);
  let response: Response;
  try {
    response = await fetch(new URL(path, opts.url), {
      method,
      headers: { authorization: `Bearer ${opts.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new CliFailure(`cannot reach ${opts.url}: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
  const payload = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!response.ok)
    throw new CliFailure(
      `${payload.error?.code ?? response.status}: ${payload.error?.message ?? ''}`,
      response.status === 401 || response.status >= 500 ? 2 : 1,
    );
  return payload;
}

function guarded(action: () => Promise<void>): Promise<void> {
  return action().catch((error: unknown) => {
    if (!(error instanceof CliFailure)) throw error;
    process.stderr.write(`portcullis tools: ${error.message}\n`);
    process.exitCode = error.exitCode;
  });
}

export function toolsCommand(): Command {
  const command = new Command('tools').description('tool integrity: pinned upstream tool definitions');
  withConnection(command.command('pins').description('list pinned tools; quarantined ones show what changed')).action(
    (opts: { url: string; token?: string; json?: boolean }) =>
      guarded(async () => {
        const { pins } = (await request(opts, 'GET', '/v1/tools/pins')) as { pins: Pin[] };
        if (opts.json) return void process.stdout.write(`${JSON.stringify(pins, null, 2)}\n`);
        for (const pin of pins) {
          process.stdout.write(
            `${pin.status === 'quarantined' ? 'QUARANTINED' : 'trusted    '}  ${pin.connector}_${pin.tool}  ${pin.hash?.slice(0, 12) ?? '(none trusted)'}${pin.flags.length ? `  flags: ${pin.flags.join(',')}` : ''}\n`,
          );
          if (pin.pending) {
            const what = pin.pending.reason === 'new' ? 'new tool held on first sight' : 'new definition';
            process.stdout.write(
              `  ${what} ${pin.pending.hash} seen ${pin.pending.seenAt}${pin.pending.flags.length ? ` flags: ${pin.pending.flags.join(',')}` : ''}${pin.pending.score !== undefined ? ` score ${pin.pending.score}` : ''}\n`,
            );
            for (const finding of pin.pending.findings ?? []) {
              process.stdout.write(
                `  ! ${finding.rule} (${finding.weight}) at ${finding.where}: ${finding.explanation}${finding.excerpt ? ` - "${finding.excerpt}"` : ''}\n`,
              );
            }
            for (const change of pin.pending.changes) {
              process.stdout.write(
                `  ~ ${change.field}\n${indent('- ', change.before)}\n${indent('+ ', change.after)}\n`,
              );
            }
            process.stdout.write(
              `  approve with: portcullis tools approve ${pin.connector} ${pin.tool} --hash ${pin.pending.hash}\n`,
            );
          }
        }
      }),
  );
  withConnection(
    command
      .command('approve')
      .argument('<connector>')
      .argument('<tool>')
      .description('trust the pending definition of a quarantined tool'),
  )
    .requiredOption('--hash <hash>', 'the pending definition hash shown by `tools pins` (proves what you reviewed)')
    .action((connector: string, tool: string, opts: { url: string; token?: string; json?: boolean; hash: string }) =>
      guarded(async () => {
        const record = (await request(
          opts,
          'POST',
          `/v1/tools/pins/${encodeURIComponent(connector)}/${encodeURIComponent(tool)}/approve`,
          { hash: opts.hash },
        )) as Pin;
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(record, null, 2)}\n`
            : `trusted ${record.connector}_${record.tool} ${record.hash}\n`,
        );
      }),
    );
  return command;
}

function indent(prefix: string, text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${prefix}${line}`)
    .join('\n');
}
