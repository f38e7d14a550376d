import { inspect } from 'node:util';

/**
 * A secret value (token, key, password) that cannot leak by accident: every way of turning it into text
 * (`String()`, template literals, `JSON.stringify`, `console.log`/util.inspect) yields `[redacted]`.
 * Only `reveal()` returns the value, at the one place that must send it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
