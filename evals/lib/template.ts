/**
 * `${backends.NAME.url}`-style placeholders in scenario data, filled in once fixtures listen on their
 * port-0 addresses. An unknown placeholder is an error: a typo must not silently send a request elsewhere.
 */
export type TemplateVars = Record<string, string>;

const PLACEHOLDER = /\$\{([a-zA-Z0-9_.-]+)\}/g;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  readonly code = 'EVAL_TEMPLATE';
}

export function fillString(text: string, vars: TemplateVars): string {
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new TemplateError(`unknown placeholder \${${key}}`);
    return value;
  });
}

/** A deep copy of `value` with every string filled in. */
export function fill<T>(value: T, vars: TemplateVars): T {
  if (typeof value === 'string') return fillString(value, vars) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => fill(v, vars)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, vars)])) as T;
  }
  return value;
}
