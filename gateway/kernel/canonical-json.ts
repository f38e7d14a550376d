import { hash } from 'node:crypto';
import { setMember } from '../../connectors/contract.js';

/**
 * Canonical JSON: object keys sorted by code unit order at every depth, no whitespace, arrays in order,
 * `undefined` members dropped (as JSON.stringify does). Two values that are equal as JSON serialise to the
 * same string, so hashes over it bind to content, not to key order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function sha256Hex(text: string): string {
  // The one-shot form: no Hash object per call (these digests are made several times per tool call).
  return hash('sha256', text, 'hex');
}

export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    // An ordinary object, which JSON.stringify walks fastest; a `__proto__` member (which JSON.parse
    // creates) is defined as an own property, so it stays an ordinary member instead of setting the
    // prototype.
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) setMember(out, key, sortKeys(member));
    }
    return out;
  }
  return value;
}
