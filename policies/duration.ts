/**
 * Durations as policy authors write them: a whole number and one unit, `30s`, `15m`, `1h`, `1d`.
 * One unit only keeps them unambiguous to read in review; the engine works in whole seconds.
 */

const DURATION_PATTERN = /^([1-9][0-9]{0,8})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) return undefined;
  const unit = match[2] as keyof typeof UNIT_SECONDS;
  return Number(match[1]) * UNIT_SECONDS[unit];
}
