import { hash } from 'node:crypto';
import { setMember } from '../../connectors/contract.js';

/**
 * Canonical JSON: object keys sorted by code unit order at every depth, no whitespace, arrays in order,
 * `undefined` members dropped (as JSON.stringify does). Two values that are equal as JSON serialise to the
 * same string, so hashes over it bind to content, not to key order.
 *
 * A value is read as `JSON.stringify` reads it (what a `toJSON` method returns, a boxed primitive unboxed,
 * raw JSON as the value its text parses to), so a value and what a reader parses back from its JSON text
 * always have the same canonical form: `canonicalJson(v) === canonicalJson(JSON.parse(JSON.stringify(v)))`.
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

function sortKeys(value: unknown, key: string | number = ''): unknown {
  const data = serialisedValue(value, key);
  if (data === null || typeof data !== 'object') return data;
  if (Array.isArray(data)) return data.map(sortKeys);
  // An ordinary object, which JSON.stringify walks fastest; a `__proto__` member (which JSON.parse creates)
  // is defined as an own property, so it stays an ordinary member instead of setting the prototype. Members
  // JSON leaves out are left out of the copy: a function kept as its `toJSON` member would be called.
  const out: Record<string, unknown> = {};
  for (const member of Object.keys(data).sort()) {
    const memberData = sortKeys((data as Record<string, unknown>)[member], member);
    if (writtenAsMember(memberData)) setMember(out, member, memberData);
  }
  return out;
}

/** Whether JSON.stringify writes an object member with this value (it leaves out the others). */
function writtenAsMember(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/**
 * What JSON.stringify writes in place of `value`, the member named `key` (its SerializeJSONProperty): the
 * result of a `toJSON` method (a Date's ISO text, say), a Number, String or Boolean object's primitive, and
 * for raw JSON (`JSON.rawJSON`) the value its text parses back to.
 */
function serialisedValue(value: unknown, key: string | number): unknown {
  if (value === null || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  const data: unknown = typeof toJSON === 'function' ? toJSON.call(value, String(key)) : value;
  if (data === null || typeof data !== 'object') return data;
  const prototype: unknown = Object.getPrototypeOf(data);
  if (prototype === Object.prototype || prototype === Array.prototype) return data;
  // As JSON.stringify converts them: ToNumber, ToString, and a Boolean object's own value.
  if (data instanceof Number) return Number(data);
  if (data instanceof String) return String(data);
  if (data instanceof Boolean) return Boolean.prototype.valueOf.call(data);
  if (isRawJson(data)) return JSON.parse(data.rawJSON) as unknown;
  return data;
}

/** Raw JSON text (`JSON.rawJSON`, Node 21 and later), which the TypeScript library in use does not declare. */
function isRawJson(value: object): value is { rawJSON: string } {
  return (JSON as unknown as { isRawJSON(value: unknown): boolean }).isRawJSON(value);
}

/**
 * Whether `value` is plain JSON data: ordinary objects (or null-prototype ones) and arrays, none with a
 * `toJSON` and none raw JSON, holding primitives. JSON.stringify and `canonicalJson` read such a value without calling
 * anything on it, so two reads of it cannot differ; a `toJSON` is asked again on every read, and may answer
 * differently each time.
 */
export function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(isPlainJson);
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  if ('toJSON' in value || isRawJson(value)) return false;
  for (const member of Object.keys(value)) {
    if (!isPlainJson((value as Record<string, unknown>)[member])) return false;
  }
  return true;
}

/**
 * Whether `find` holds for a key JSON.stringify would write for `value` (the keys `canonicalJson` sorts),
 * at any depth: the keys of every object in it, never an array's indices, never a member JSON leaves out.
 */
export function someJsonKey(value: unknown, find: (key: string) => boolean): boolean {
  return someKeyIn(serialisedValue(value, ''), find);
}

/** `someJsonKey` of a value already read as JSON reads it (each `toJSON` is called once). */
function someKeyIn(data: unknown, find: (key: string) => boolean): boolean {
  if (data === null || typeof data !== 'object') return false;
  if (Array.isArray(data)) return data.some((member, index) => someKeyIn(serialisedValue(member, index), find));
  for (const member of Object.keys(data)) {
    const memberData = serialisedValue((data as Record<string, unknown>)[member], member);
    if (writtenAsMember(memberData) && (find(member) || someKeyIn(memberData, find))) return true;
  }
  return false;
}
