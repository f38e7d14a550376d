/**
 * How every script in bench/ behaves as a command.
 *
 * - `--help` (or `-h`) before any `--` prints the script's usage on standard output and exits 0, running
 *   nothing.
 * - An unknown option, a missing or refused value (Node's parseArgs errors, and BenchUsageError from the
 *   script's own checks) prints what is wrong, and how to see the usage, on standard error and exits 2,
 *   with no stack trace: it is the command line that is wrong, not the benchmark.
 * - Anything else that fails is left to fail as it does (a stack trace, exit 1).
 */
import { realpathSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchUsageError } from './options.js';

/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the script Node was asked to run. Node loads
 * the main script from its real path (symbolic links resolved) and gives its URL escaped (a space is `%20`),
 * so the path as typed is resolved the same way before the two are compared.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(path.resolve(script)) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

/** Whether `args` ask for the usage: `--help` or `-h` among the arguments before a `--`. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** A command-line mistake: a BenchUsageError, or one of the errors Node's parseArgs throws. */
export function isUsageError(error: unknown): error is Error {
  if (error instanceof BenchUsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/**
 * What a usage error prints: what is wrong (Node's parseArgs may add a hint on a line of its own), and where
 * the usage is.
 */
export function usageErrorText(script: string, error: Error): string {
  return `${script}: ${error.message.trimEnd()}\n${script} --help prints its usage\n`;
}

/**
 * Read the script's command line with `read` (which parses `args` and checks the values), or answer
 * `--help` with `usage`, or end the process on a usage error (all as described above). Written with
 * `writeSync` so that nothing is lost when the process ends at once.
 */
export function readCommandLine<R>(usage: string, read: (args: string[]) => R, args = process.argv.slice(2)): R {
  if (asksForHelp(args)) {
    writeSync(1, `${usage.trimEnd()}\n`);
    process.exit(0);
  }
  try {
    return read(args);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    writeSync(2, usageErrorText(scriptName(), error));
    process.exit(2);
  }
}

/** The running script as its user typed it, relative to the working folder when inside it. */
function scriptName(): string {
  const script = process.argv[1];
  if (script === undefined) return 'bench';
  const relative = path.relative(process.cwd(), script);
  return relative.startsWith('..') || path.isAbsolute(relative) ? script : relative;
}
