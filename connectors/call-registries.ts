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
 */
export class DictionaryMap<K extends DictionaryKey, V> implements Map<K, V> {
  #values: Record<string, V> = Object.create(null) as Record<string, V>;
  #keys: Record<string, K> = Object.create(null) as Record<string, K>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get [Symbol.toStringTag](): string {
    return 'DictionaryMap';
  }

  get(key: K): V | undefined {
    return this.#values[slot(key)];
  }

  has(key: K): boolean {
    return slot(key) in this.#keys;
  }

  set(key: K, value: V): this {
    const at = slot(key);
    if (!(at in this.#keys)) {
      this.#keys[at] = key;
      this.#size++;
    }
    this.#values[at] = value;
    return this;
  }

  delete(key: K): boolean {
    const at = slot(key);
    if (!(at in this.#keys)) return false;
    delete this.#keys[at];
    delete this.#values[at];
    this.#size--;
    return true;
  }

  clear(): void {
    this.#values = Object.create(null) as Record<string, V>;
    this.#keys = Object.create(null) as Record<string, K>;
    this.#size = 0;
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[K, V]> {
    // Over a copy of the slots: entries deleted or added by the loop's body do not disturb it.
    for (const at of Object.keys(this.#keys)) if (at in this.#keys) yield [this.#keys[at]!, this.#values[at]!];
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

/** A number and the string of its digits are different keys. */
function slot(key: DictionaryKey): string {
  return typeof key === 'number' ? `n${key}` : `s${key}`;
}
