/** Command-line options of the bench scripts. */

/** `value` of the option `--name` as a positive integer; a RangeError naming the option otherwise. */
export function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer`);
  return n;
}

/** A command line the bench cannot run with. */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
  override readonly name = 'BenchUsageError';
}

/** The comma-separated `text` of the option `flag`, each item one of `allowed`. */
export function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((t) => t.trim());
  for (const item of items)
    if (!allowed.includes(item as T))
      throw new BenchUsageError(`unknown ${flag} value ${item} (expected ${allowed.join(', ')})`);
  return items as T[];
}
