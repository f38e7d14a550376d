/**
 * Guards label cardinality: each label accepts at most `max` distinct values; later new values are
 * counted under `other`. Values come from configuration (tool names, rule ids, connector ids) and code
 * enums, so the cap is only hit when something unexpected flows into a label, and then the series count
 * stays bounded instead of growing with traffic.
 */
export const OVERFLOW_LABEL = 'other';
const MAX_VALUE_LENGTH = 128;

export interface BoundedLabel {
  (value: string): string;
}

export function createBoundedLabel(max: number): BoundedLabel {
  const seen = new Set<string>();
  return (value: string) => {
    const trimmed = value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value;
    if (seen.has(trimmed)) return trimmed;
    if (seen.size >= max) return OVERFLOW_LABEL;
    seen.add(trimmed);
    return trimmed;
  };
}
