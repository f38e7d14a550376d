/**
 * The bounded memory of tokens that verified, shared by the JWT authenticators: keyed by a digest of the
 * token, least recently used first out. A size below one remembers nothing (every token verified in full),
 * which `lru-cache` itself does not accept.
 */
import { LRUCache } from 'lru-cache';

export interface VerifiedTokens<V> {
  get(digest: string): V | undefined;
  set(digest: string, verified: V): void;
  delete(digest: string): void;
}

const REMEMBER_NOTHING: VerifiedTokens<never> = {
  get: () => undefined,
  set: () => undefined,
  delete: () => undefined,
};

/** Remembers up to `size` verified tokens (the floor of it); none when that is below one. */
export function verifiedTokens<V extends object>(size: number): VerifiedTokens<V> {
  const max = Math.floor(size);
  if (!(max >= 1)) return REMEMBER_NOTHING;
  const kept = new LRUCache<string, V>({ max });
  return {
    get: (digest) => kept.get(digest),
    set: (digest, verified) => void kept.set(digest, verified),
    delete: (digest) => void kept.delete(digest),
  };
}
