import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code unit order at every depth, no whitespace, arrays in order,
 * `undefined` members dropped (as JSON.stringify does). Two values that are equal as JSON serialise to the
 * same string, so hashes over it bind to content, not to key order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    // A null-prototype object: a `__proto__` member (which JSON.parse creates) stays an ordinary member.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}
