/** Command-line options of the bench scripts. */

/** `value` of the option `--name` as a positive integer; a RangeError naming the option otherwise. */
export function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer`);
  return n;
}
