/**
 * A private copy of a JSON value, made before arguments are validated so that what is validated is exactly
 * what is sent, whatever the caller does with its object afterwards.
 *
 * Only plain JSON is copied: null, booleans, strings, finite numbers, arrays and plain objects (whose
 * members left `undefined` are dropped, as they are when the value is serialised). Anything serialisation
 * would turn into something else is refused with the path to it: a Date (sent as a string), a Map (sent as
 * `{}`), NaN or Infinity (sent as `null`), a function, a symbol, a BigInt, a cycle. So are values nested
 * deeper than `MAX_JSON_DEPTH`. A `__proto__` member stays an ordinary member.
 */
import { setMember } from './contract.js';

export const MAX_JSON_DEPTH = 200;

/** The reason a value that contains itself (a cycle) is refused with. */
export const REFERS_BACK = 'refers back to itself';

export class NotJsonError extends Error {
  override readonly name = 'NotJsonError';
  /** Keys and indexes from the top to the offending value, filled in as the copy unwinds. */
  readonly segments: string[] = [];
  constructor(readonly reason: string) {
    super(reason);
  }
  /** JSON Pointer to the offending value (`""` for the value itself). */
  get path(): string {
    return this.segments.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
  }
}

export function copyJsonValue(value: unknown): unknown {
  return copy(value, 0, []);
}

// Paths are built only for a refusal, as it unwinds: a copy that succeeds allocates nothing but the copy.
function copy(value: unknown, depth: number, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError('is not a finite number');
      return value;
    case 'object':
      break;
    default:
      throw new NotJsonError(`is not a JSON value (${typeof value})`);
  }
  if (value === null) return null;
  if (depth >= MAX_JSON_DEPTH) throw new NotJsonError(`nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (ancestors.includes(value)) throw new NotJsonError(REFERS_BACK);
  ancestors.push(value);
  let key: string | undefined;
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        key = String(i);
        out[i] = copy(value[i], depth + 1, ancestors);
      }
      return out;
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) throw new NotJsonError('is not a plain object');
    const out: Record<string, unknown> = {};
    for (key of Object.keys(value)) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      setMember(out, key, copy(member, depth + 1, ancestors));
    }
    return out;
  } catch (error) {
    // Below this value, the refusal's path goes through the member being copied; at it, it ends here.
    if (error instanceof NotJsonError && key !== undefined) error.segments.unshift(key);
    throw error;
  } finally {
    ancestors.pop();
  }
}
