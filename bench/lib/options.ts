/** Command-line options of the bench scripts. */

/** A command line the bench cannot run with (lib/command.ts reports it as a usage error). */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
  override readonly name = 'BenchUsageError';
}

/** `value` of the option `--name` as a positive integer; a BenchUsageError naming the option otherwise. */
export function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new BenchUsageError(`--${name} must be a positive integer (got ${JSON.stringify(value)})`);
  return n;
}

/** `value` of the option `--name` as a positive number; a BenchUsageError naming the option otherwise. */
export function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0) || !Number.isFinite(n))
    throw new BenchUsageError(`--${name} must be a positive number (got ${JSON.stringify(value)})`);
  return n;
}

/** The comma-separated `text` of the option `flag`, each item one of `allowed`. */
export function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((t) => t.trim());
  for (const item of items)
    if (!allowed.includes(item as T))
      throw new BenchUsageError(`unknown ${flag} value ${item} (expected ${allowed.join(', ')})`);
  return items as T[];
}

/** `value` of the option `--name` as a TCP port, 0 (any free port) to 65535; a BenchUsageError otherwise. */
export function portNumber(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535)
    throw new BenchUsageError(`--${name} must be a port, 0 to 65535 (got ${JSON.stringify(value)})`);
  return n;
}
