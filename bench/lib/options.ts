/** Command-line options of the bench scripts. */

/** A command line the bench cannot run with (lib/command.ts reports it as a usage error). */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
  override readonly name = 'BenchUsageError';
}

/**
 * `value` of the option `--name` as a number `accepts` takes; a BenchUsageError naming the option, what it
 * takes (`what`) and the value otherwise. An empty value is refused, not read as 0.
 */
function numberOption(name: string, value: string, what: string, accepts: (n: number) => boolean): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !accepts(n))
    throw new BenchUsageError(`--${name} must be ${what} (got ${JSON.stringify(value)})`);
  return n;
}

export const positiveInteger = (name: string, value: string): number =>
  numberOption(name, value, 'a positive integer', (n) => Number.isInteger(n) && n >= 1);

export const nonNegativeInteger = (name: string, value: string): number =>
  numberOption(name, value, 'a non-negative integer', (n) => Number.isInteger(n) && n >= 0);

export const positiveNumber = (name: string, value: string): number =>
  numberOption(name, value, 'a positive number', (n) => n > 0);

export const nonNegativeSeconds = (name: string, value: string): number =>
  numberOption(name, value, 'a number of seconds, 0 or more', (n) => n >= 0);

/** A TCP port, 0 (any free port) to 65535. */
export const portNumber = (name: string, value: string): number =>
  numberOption(name, value, 'a port, 0 to 65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65_535);

/** The comma-separated `text` of the option `flag`, each item one of `allowed`. */
export function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((t) => t.trim());
  for (const item of items)
    if (!allowed.includes(item as T))
      throw new BenchUsageError(`unknown ${flag} value ${item} (expected ${allowed.join(', ')})`);
  return items as T[];
}
