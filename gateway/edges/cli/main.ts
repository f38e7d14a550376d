/**
 * `portcullis` command line. Exit codes: 0 success, 1 the thing checked is invalid/failed, 2 usage or I/O
 * error. Only this entry point and the composition root (gateway/main.ts, gateway/compose.ts) touch
 * process state (argv, env, exit, signals).
 */
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

try {
  const program = await buildProgram(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`portcullis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
