/**
 * `${backends.NAME.url}`-style placeholders in scenario data, filled in once fixtures listen on their
 * port-0 addresses. An unknown placeholder is an error: a typo must not silently send a request elsewhere.
 * `${rand.NAME}` and `${randint.NAME}` come from the scenario's random literal generator (random.ts); a
 * string that is exactly one `${randint.NAME}` becomes that number, so it can fill integer arguments.
 */
import type { RandomLiteral } from './random.js';

export type TemplateVars = Record<string, string>;

const PLACEHOLDER = /\$\{([a-zA-Z0-9_.-]+)\}/g;
const WHOLE_PLACEHOLDER = /^\$\{(randint\.[a-zA-Z0-9_-]+)\}$/;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  readonly code = 'EVAL_TEMPLATE';
}

function lookup(key: string, vars: TemplateVars, random: RandomLiteral | undefined): string | number {
  const value = vars[key] ?? random?.(key);
  if (value === undefined) throw new TemplateError(`unknown placeholder \${${key}}`);
  return value;
}

export function fillString(text: string, vars: TemplateVars, random?: RandomLiteral): string {
  return text.replace(PLACEHOLDER, (_match, key: string) => String(lookup(key, vars, random)));
}

/** A deep copy of `value` with every string filled in. */
export function fill<T>(value: T, vars: TemplateVars, random?: RandomLiteral): T {
  if (typeof value === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole !== null) return lookup(whole[1]!, vars, random) as T;
    return fillString(value, vars, random) as T;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => fill(v, vars, random)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, vars, random)])) as T;
  }
  return value;
}
