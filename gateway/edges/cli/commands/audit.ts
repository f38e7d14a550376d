import { Command, InvalidArgumentError } from 'commander';
import { AuditError, readFileTail, verifyAuditLog } from '../../../services/audit/index.js';

/**
 * `portcullis audit verify FILE [--checkpoint FILE] [--json]`: exit 0 when the chain is intact, 1 when
 * it shows tampering, 2 when the files cannot be read (or the command line is wrong). Calls in doubt (a
 * write-ahead decision without an outcome) are listed whatever the exit code; they are not tampering.
 * `portcullis audit tail FILE [-n N]`: the last N records, as written.
 */
export function auditCommand(): Command {
  const command = new Command('audit').description('inspect and verify the hash-chained audit log');
  command
    .command('verify')
    .argument('<file>', 'audit log (JSONL)')
    .option('--checkpoint <file>', 'checkpoint file written next to the log; detects records cut off the end')
    .option('--json', 'print the result as JSON')
    .description('check every record hash and chain link; exit 0 intact, 1 tampered, 2 unreadable')
    .action(async (file: string, options: { checkpoint?: string; json?: boolean }) => {
      let result;
      try {
        result = await verifyAuditLog(
          file,
          options.checkpoint !== undefined ? { checkpointFile: options.checkpoint } : {},
        );
      } catch (error) {
        if (!(error instanceof AuditError)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 2;
        return;
      }
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else if (result.ok) {
        const against =
          result.checkpoint !== undefined ? `, consistent with checkpoint at seq ${result.checkpoint.seq}` : '';
        process.stdout.write(`${file}: ok (${result.records} records, last seq ${result.lastSeq}${against})\n`);
      } else {
        const lines = [
          `${file}: TAMPERED (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}, ${result.records} records read)`,
        ];
        for (const problem of result.problems) {
          const where = problem.line === 0 ? 'checkpoint' : `line ${problem.line}`;
          lines.push(
            `  ${where}${problem.seq !== undefined ? ` seq ${problem.seq}` : ''}: ${problem.kind}: ${problem.message}`,
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (options.json !== true && result.inDoubt.length > 0) {
        // Not tampering: a decision was recorded ahead of the call and no outcome followed it.
        const lines = [
          `${result.inDoubt.length} call${result.inDoubt.length === 1 ? '' : 's'} IN DOUBT (decision recorded, no outcome; the backend may or may not have been reached):`,
        ];
        for (const call of result.inDoubt)
          lines.push(
            `  line ${call.line} seq ${call.seq}: call ${call.callId}${call.tool !== undefined ? ` ${call.tool}` : ''}${call.agentId !== undefined ? ` by ${call.agentId}` : ''}${call.ts !== undefined ? ` at ${call.ts}` : ''}`,
          );
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      process.exitCode = result.ok ? 0 : 1;
    });
  command
    .command('tail')
    .argument('<file>', 'audit log (JSONL)')
    .option('-n, --lines <n>', 'number of records', parseCount, 10)
    .description('print the last records of the log')
    .action(async (file: string, options: { lines: number }) => {
      try {
        const tail = await readFileTail(file, options.lines);
        if (tail.lines.length > 0) process.stdout.write(`${tail.lines.join('\n')}\n`);
        if (!tail.endsWithNewline) process.stderr.write(`${file}: last line is incomplete (not shown)\n`);
      } catch (error) {
        process.stderr.write(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
        process.exitCode = 2;
      }
    });
  // Usage errors surface as CommanderError (exit 2 at the entry point) rather than commander's own exit(1),
  // which would read as "tampered".
  command.exitOverride();
  for (const sub of command.commands) sub.exitOverride();
  return command;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
