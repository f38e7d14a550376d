/**
 * JSON made once for values that are listed again and again unchanged (the tools of a catalog), and
 * reused whenever a message lists them.
 *
 * A `tools/list` answer of a large catalog is mostly the same bytes every time: GitHub's REST description
 * imported whole is 1,221 tools and 1.76 MB of JSON, which `JSON.stringify` took about 15 ms to write and
 * encoding it for the socket another 7 ms, on the event loop, for every listing by every agent. A value
 * marked with `keepJson` has its JSON made the first time a message lists it, as bytes, and an answer that
 * lists only kept values is the JSON of the rest of the message around those bytes, written in parts.
 *
 * The bytes are exactly those `JSON.stringify(message)` writes (tested byte for byte), so nothing that
 * reads the answer can tell. The contract is on the caller of `keepJson`: a kept value, and everything it
 * holds, never changes once kept (its bytes would not follow).
 */
import { randomUUID } from 'node:crypto';

/** The kept values, each with its JSON's bytes once a message has listed it. */
const kept = new WeakMap<object, Buffer | undefined>();

/**
 * Marks `value`, which neither it nor anything it holds may ever change again, as one whose JSON is made
 * once. Frozen here, so that a change to its own members throws; returns it. A value with a `toJSON` is
 * refused: what JSON.stringify writes for it depends on where it stands.
 */
export function keepJson<T extends object>(value: T): Readonly<T> {
  if ('toJSON' in value) throw new TypeError('a value with a toJSON method cannot be kept as JSON');
  Object.freeze(value);
  if (!kept.has(value)) kept.set(value, undefined);
  return value;
}

/** Where the listing goes in the JSON of the rest of the message: no value in a message can hold it. */
const PLACEHOLDER = `portcullis-kept-json-${randomUUID()}`;
const QUOTED_PLACEHOLDER = JSON.stringify(PLACEHOLDER);
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/**
 * JSON as bytes in parts, to be written one after the other. A listing's bytes are one part, the same
 * buffer for every answer that gives the same listing: joining them with the rest of the answer would copy
 * them into a new buffer of their size every time, which cost more than the rest of the answer (about 5 ms
 * for the listing above, most of it the new memory's page faults).
 */
export type JsonParts = readonly Buffer[];

/**
 * The JSON of a JSON-RPC message, as `JSON.stringify` writes it: in parts, with the kept bytes of its
 * listing, when its result lists kept values only (a member of `result` that is an array of them), else the
 * string `JSON.stringify` returns.
 */
export function messageJson(message: unknown): string | JsonParts {
  const listing = keptListing(message);
  if (listing === undefined) return JSON.stringify(message);
  const { envelope, result, member, items } = listing;
  const rest = JSON.stringify({ ...envelope, result: { ...result, [member]: PLACEHOLDER } });
  const at = rest.indexOf(QUOTED_PLACEHOLDER);
  return [Buffer.from(rest.slice(0, at)), listingBytes(items), Buffer.from(rest.slice(at + QUOTED_PLACEHOLDER.length))];
}

/** `messageJson` as one buffer, for a writer that takes one chunk. */
export function messageJsonBytes(message: unknown): Buffer {
  const json = messageJson(message);
  return typeof json === 'string' ? Buffer.from(json) : Buffer.concat(json);
}

/** The number of bytes of JSON made by `messageJson`. */
export function jsonByteLength(json: string | JsonParts): number {
  return typeof json === 'string' ? Buffer.byteLength(json) : json.reduce((total, part) => total + part.length, 0);
}

interface KeptListing {
  envelope: Record<string, unknown>;
  result: Record<string, unknown>;
  member: string;
  items: readonly object[];
}

/**
 * The message's listing of kept values, when it has one and `JSON.stringify` reads the message and its
 * result as their own members (plain objects, no `toJSON`); else undefined.
 */
function keptListing(message: unknown): KeptListing | undefined {
  if (!isPlainRecord(message)) return undefined;
  const result = message['result'];
  if (!isPlainRecord(result)) return undefined;
  for (const member in result) {
    const items: unknown = result[member];
    if (!Array.isArray(items) || items.length === 0 || !kept.has(items[0] as object)) continue;
    if (!items.every((item: unknown) => typeof item === 'object' && item !== null && kept.has(item))) return undefined;
    return { envelope: message, result, member, items: items as object[] };
  }
  return undefined;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return (prototype === Object.prototype || prototype === null) && !('toJSON' in value);
}

/** How many listings' bytes are kept: agents with the same view of a catalog are given the same listing. */
const RECENT_LISTINGS = 4;

/** The bytes of the latest listings, most recently used first, each with the kept values it lists. */
const recentListings: { items: readonly object[]; bytes: Buffer }[] = [];

/** The JSON of an array of kept values: as it was made for the same values lately, else made now. */
function listingBytes(items: readonly object[]): Buffer {
  const index = recentListings.findIndex((listing) => sameItems(listing.items, items));
  if (index !== -1) {
    const [listing] = recentListings.splice(index, 1);
    recentListings.unshift(listing!);
    return listing!.bytes;
  }
  const parts: Buffer[] = [OPEN];
  items.forEach((item, position) => {
    if (position > 0) parts.push(COMMA);
    parts.push(keptBytes(item));
  });
  parts.push(CLOSE);
  const bytes = Buffer.concat(parts);
  recentListings.unshift({ items: [...items], bytes });
  recentListings.length = Math.min(recentListings.length, RECENT_LISTINGS);
  return bytes;
}

function sameItems(a: readonly object[], b: readonly object[]): boolean {
  return a.length === b.length && a.every((item, position) => item === b[position]);
}

/** The JSON of a kept value, made the first time it is asked for. */
function keptBytes(item: object): Buffer {
  let bytes = kept.get(item);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(item));
    kept.set(item, bytes);
  }
  return bytes;
}
