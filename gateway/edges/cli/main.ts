/**
 * `portcullis` command line. Exit codes: 0 success, 1 the thing checked is invalid/failed, 2 usage or I/O
 * error. Only this entry point and the composition root (gateway/main.ts, gateway/compose.ts) touch
 * process state (argv, env, exit, signals).
 */
import { CommanderError } from 'commander';
import { buildProgram, requestedCommand } from './program.js';

try {
  const args = process.argv.slice(2);
  // Before the command's modules build any schema (kernel/zod-trees.ts); `--help` loads neither them nor zod.
  if (requestedCommand(args) !== undefined) (await import('../../kernel/zod-trees.js')).validateValuesAsTrees();
  const program = await buildProgram(args);
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`portcullis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
