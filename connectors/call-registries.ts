/**
 * Registries of entries that come and go with each call: the calls in flight on an upstream connection,
 * their pending JSON-RPC ids, the calls a shutdown would cancel. Built so that a call's objects die young.
 *
 * Why not `Map` or `Set`: V8 keeps a Map's or Set's entries in a hash table that it replaces as entries come
 * and go (to grow, to shrink, and to compact away removed entries, which it does not reuse), and it links
 * each replaced table to its successor, for iterators still walking it. Once one such table has been
 * promoted to the old generation, every later table is reachable from it until the next full collection,
 * and so is every value a table held when it was replaced: a young-generation collection treats references
 * from the old generation as roots, dead or alive. A registry that adds and removes an entry for each of
 * tens of concurrent calls therefore keeps every call's objects that its entries reach alive through
 * young-generation collections and promotes them, and the old generation fills with garbage that only a
 * full collection removes. The gateway at 32 sessions promoted about 14 KB a call with such registries and
 * about 7 KB without them (docs/benchmarks.md).
 *
 * A linked list has no table to replace, and an object in dictionary mode replaces its table without
 * linking the old one to the new, so neither keeps a chain of dead tables alive.
 */

interface Link<T> {
  readonly value: T;
  prev: Link<T> | undefined;
  next: Link<T> | undefined;
  linked: boolean;
}

/** Values in no particular order, each added for as long as something (a call) lasts. */
export interface LiveList<T> {
  readonly size: number;
  /** Adds `value` (again, if it is already there); the function returned removes this entry, once. */
  add(value: T): () => void;
  /** Whether `value` is there: a scan, for registries of what is in flight (tens of entries). */
  has(value: T): boolean;
  /** The value when there is exactly one entry. */
  only(): T | undefined;
  /** Removes every entry and returns their values. */
  takeAll(): T[];
}

export function createLiveList<T>(): LiveList<T> {
  let head: Link<T> | undefined;
  let size = 0;
  const unlink = (link: Link<T>): void => {
    if (!link.linked) return;
    link.linked = false;
    if (link.prev !== undefined) link.prev.next = link.next;
    else head = link.next;
    if (link.next !== undefined) link.next.prev = link.prev;
    // A removed link holds on to nothing: it may outlive its neighbours (a long call's link, promoted).
    link.prev = undefined;
    link.next = undefined;
    size--;
  };
  return {
    get size() {
      return size;
    },
    add(value) {
      const link: Link<T> = { value, prev: undefined, next: head, linked: true };
      if (head !== undefined) head.prev = link;
      head = link;
      size++;
      return () => unlink(link);
    },
    has(value) {
      for (let link = head; link !== undefined; link = link.next) if (link.value === value) return true;
      return false;
    },
    only: () => (size === 1 ? head?.value : undefined),
    takeAll() {
      const values: T[] = [];
      for (let link = head; link !== undefined;) {
        const next = link.next;
        values.push(link.value);
        link.linked = false;
        link.prev = undefined;
        link.next = undefined;
        link = next;
      }
      head = undefined;
      size = 0;
      return values;
    },
  };
}

type DictionaryKey = string | number;

/**
 * A `Map` of string or number keys (`1` and `"1"` are different keys, as in a `Map`) over objects in
 * dictionary mode. Iteration order is unspecified.
 *
 * A number key that is an array index (the JSON-RPC ids a client counts up from 0 or 1) is an element of
 * an object whose elements V8 keeps in a number dictionary (see `indexedObject`): no string is made, hashed
 * or looked up in V8's string table for it, which a named property costs every time its key is a string
 * made afresh. Every other key is a named property, under a slot that tells a number from a string.
 */
export class DictionaryMap<K extends DictionaryKey, V> implements Map<K, V> {
  #indexed: Record<number, V> = indexedObject<V>();
  #named: Record<string, V> = Object.create(null) as Record<string, V>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get [Symbol.toStringTag](): string {
    return 'DictionaryMap';
  }

  get(key: K): V | undefined {
    return isIndex(key) ? this.#indexed[key] : this.#named[slot(key)];
  }

  has(key: K): boolean {
    return isIndex(key) ? key in this.#indexed : slot(key) in this.#named;
  }

  set(key: K, value: V): this {
    if (isIndex(key)) {
      if (!(key in this.#indexed)) this.#size++;
      this.#indexed[key] = value;
    } else {
      const at = slot(key);
      if (!(at in this.#named)) this.#size++;
      this.#named[at] = value;
    }
    return this;
  }

  delete(key: K): boolean {
    if (isIndex(key)) {
      if (!(key in this.#indexed)) return false;
      delete this.#indexed[key];
    } else {
      const at = slot(key);
      if (!(at in this.#named)) return false;
      delete this.#named[at];
    }
    this.#size--;
    return true;
  }

  clear(): void {
    this.#indexed = indexedObject<V>();
    this.#named = Object.create(null) as Record<string, V>;
    this.#size = 0;
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[K, V]> {
    // Over copies of the keys: entries deleted or added by the loop's body do not disturb it, and each is
    // looked up where it is now (after a `clear`, nowhere).
    for (const at of Object.keys(this.#indexed)) {
      const key = Number(at);
      if (key in this.#indexed) yield [key as K, this.#indexed[key]!];
    }
    for (const at of Object.keys(this.#named)) if (at in this.#named) yield [keyOf(at) as K, this.#named[at]!];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/** The highest array index, which every object of indexed entries holds as a hidden element. */
const PINNED_INDEX = 2 ** 32 - 2;

/**
 * An object for the entries of array-index keys, with its elements in a number dictionary for good: an
 * element that is not enumerable (the one at `PINNED_INDEX`) makes V8 keep them so. Left to itself, V8
 * stores the elements of an object whose keys are small in an array as long as the highest key, and
 * allocates a longer array each time a key passes its end, up to a few hundred entries before it turns to a
 * dictionary: a 2025 session's registry (ids counted from 1 by its agent, one or two open at a time) then
 * allocated one array after another as its ids grew, each kept alive by the session and promoted with it
 * (about 0.2 KB a call at 32 sessions).
 */
function indexedObject<V>(): Record<number, V> {
  const indexed = Object.create(null) as Record<number, V>;
  Object.defineProperty(indexed, PINNED_INDEX, { value: undefined });
  return indexed;
}

/**
 * Whether `key` is an array index kept among the indexed entries (`-0` is `0`, as in a `Map`); the pinned
 * index is not, and goes with the named entries.
 */
function isIndex(key: DictionaryKey): key is number {
  return typeof key === 'number' && key >>> 0 === key && key < PINNED_INDEX;
}

/** A number and the string of its digits are different keys. */
function slot(key: DictionaryKey): string {
  return typeof key === 'number' ? `n${key}` : `s${key}`;
}

/** The key of a slot: `String` and `Number` give back every number, `NaN` and the infinities included. */
function keyOf(at: string): DictionaryKey {
  return at.startsWith('n') ? Number(at.slice(1)) : at.slice(1);
}
