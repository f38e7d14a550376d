/**
 * Request paths: templates from configuration, values from agents, one canonical form for both.
 *
 * The host and port of an HTTP tool come only from the connector's `baseUrl`; an agent can fill in path
 * parameters and nothing else. A parameter value becomes exactly one path segment (or part of one): it is
 * percent-encoded with `encodeURIComponent`, and values that servers or proxies could read as structure
 * (`/`, `\`, `%`, dot segments, control characters, the empty string) are refused rather than escaped.
 *
 * The one exception is reserved expansion (`{+name}`, RFC 6570), declared in the template and only as a whole
 * segment: its value may span several segments separated by `/` (a file path, a branch name such as
 * `feature/x`). Each of those segments obeys the rules above, so `..`, `.`, empty segments (leading,
 * trailing or doubled `/`) and anything percent-encoded are still refused: the value can add segments under
 * the template's prefix, never climb out of it.
 *
 * `canonicalizePath` gives the one form a path is decided on and sent as: decoded once, dot segments
 * resolved, re-encoded. Anything whose meaning depends on how many times, or by whom, it is decoded
 * (encoded separators, double encoding, raw backslashes, NUL and control characters) is refused.
 */
import { ConnectorError } from '../errors.js';

/** A placeholder name in a path template. */
export const PATH_PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export type PathPart =
  | { kind: 'literal'; text: string }
  /** `reserved`: written `{+name}`; the value may contain `/` (always a whole segment of its own). */
  | { kind: 'param'; name: string; reserved: boolean };

export interface PathTemplate {
  /** The template as written, e.g. `/repos/{owner}/{repo}/issues` or `/repos/{owner}/{repo}/contents/{+path}`. */
  source: string;
  /** Segments after the leading `/`; each is a list of literal text and placeholders. */
  segments: readonly (readonly PathPart[])[];
  /** Placeholder names in order of appearance (each at most once). */
  params: readonly string[];
}

/** A path or template that cannot be used; `reason` is safe to show (no argument values). */
export class PathError extends Error {
  override readonly name = 'PathError';
  readonly code = 'INVALID_PATH';
}

// Control characters (C0, DEL) and C1 controls: never in a path, raw or decoded.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

/**
 * Parse and check a path template from configuration. Throws PathError when the template has a scheme,
 * a host, a query or fragment, `..` or `.` segments, `//`, a backslash, whitespace or control characters,
 * unbalanced or nested braces, duplicate or malformed placeholder names, or literal text that is not in
 * canonical form.
 */
export function parsePathTemplate(source: string): PathTemplate {
  // `://` anywhere: a scheme at the start, or a URL pasted into the middle of a path.
  if (source.includes('://')) throw new PathError('a path template must not contain a scheme or host');
  if (!source.startsWith('/')) throw new PathError('a path template must start with "/"');
  if (source.startsWith('//')) throw new PathError('a path template must not start with "//" (that names a host)');
  if (source.includes('?') || source.includes('#'))
    throw new PathError('a path template must not contain "?" or "#"; declare query parameters with `query`');
  if (source.includes('\\')) throw new PathError('a path template must not contain "\\"');
  if (source.includes('//')) throw new PathError('a path template must not contain an empty segment ("//")');
  if (CONTROL.test(source) || /\s/.test(source))
    throw new PathError('a path template must not contain whitespace or control characters');

  const rawSegments = source.slice(1).split('/');
  const params: string[] = [];
  const segments: PathPart[][] = [];
  for (const raw of rawSegments) {
    if (/^(?:\.|%2e){1,2}$/i.test(raw)) throw new PathError('a path template must not contain "." or ".." segments');
    const parts: PathPart[] = [];
    let rest = raw;
    while (rest.length > 0) {
      const open = rest.indexOf('{');
      const close = rest.indexOf('}');
      if (open === -1) {
        if (close !== -1) throw new PathError('unbalanced "}" in path template');
        parts.push({ kind: 'literal', text: rest });
        break;
      }
      if (close < open) throw new PathError('unbalanced "}" in path template');
      if (open > 0) parts.push({ kind: 'literal', text: rest.slice(0, open) });
      const inner = rest.slice(open + 1, close);
      if (inner.includes('{')) throw new PathError('nested "{" in path template');
      const reserved = inner.startsWith('+');
      const name = reserved ? inner.slice(1) : inner;
      if (!PATH_PARAM_NAME_PATTERN.test(name)) throw new PathError(`invalid path parameter name "${name}"`);
      if (params.includes(name)) throw new PathError(`path parameter "${name}" appears twice`);
      const previous = parts.at(-1);
      if (previous?.kind === 'param') throw new PathError('two path parameters must be separated by literal text');
      params.push(name);
      parts.push({ kind: 'param', name, reserved });
      rest = rest.slice(close + 1);
    }
    if (parts.some((part) => part.kind === 'param' && part.reserved) && parts.length !== 1)
      throw new PathError('a reserved-expansion parameter ({+name}) must be a whole path segment');
    for (const part of parts) {
      if (part.kind !== 'literal') continue;
      // Literal text must already be canonical: what is configured is what is sent and matched.
      let canonical: string;
      try {
        canonical = canonicalizeSegment(part.text);
      } catch (error) {
        throw new PathError(`path template literal "${part.text}": ${(error as Error).message}`);
      }
      if (canonical !== part.text)
        throw new PathError(`path template literal "${part.text}" is not canonical (expected "${canonical}")`);
    }
    segments.push(parts);
  }
  return { source, segments, params };
}

/** Why a parameter value is refused, or undefined when it is acceptable. */
function refusePathValue(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  if (value === '.' || value === '..') return 'must not be "." or ".."';
  if (value.includes('/') || value.includes('\\')) return 'must not contain "/" or "\\"';
  if (value.includes('%')) return 'must not contain "%"';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (/(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/.test(value))
    return 'must be well-formed Unicode';
  return undefined;
}

/** Why a reserved-expansion value (`{+name}`: segments joined by `/`) is refused, or undefined. */
function refuseReservedValue(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  for (const segment of value.split('/')) {
    if (segment === '') return 'must not contain empty segments (a leading, trailing or doubled "/")';
    if (segment === '.' || segment === '..') return 'must not contain "." or ".." segments';
    const refused = refusePathValue(segment);
    if (refused !== undefined) return refused.replace(/^must not contain "\/" or /, 'must not contain ');
  }
  return undefined;
}

/** Percent-encode each `/`-separated segment of an accepted reserved-expansion value. */
function encodeReservedValue(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}

/**
 * Fill a path template with parameter values (strings or safe integers) and return the canonical path.
 * Throws ConnectorError INVALID_ARGUMENTS (with `details.parameter`) for a missing or refused value, and
 * PathError for an invalid template. The result always has the template's literal text, and the template's
 * segment count unless a reserved-expansion parameter (`{+name}`) adds segments in its own place.
 */
export function buildRequestPath(template: string | PathTemplate, params: Readonly<Record<string, unknown>>): string {
  const parsed = typeof template === 'string' ? parsePathTemplate(template) : template;
  const segments = parsed.segments.map((parts) =>
    parts
      .map((part) => {
        if (part.kind === 'literal') return part.text;
        const value = params[part.name];
        let text: string;
        if (typeof value === 'string') text = value;
        else if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
        else {
          throw new ConnectorError(
            'INVALID_ARGUMENTS',
            `path parameter "${part.name}" must be a string or an integer`,
            { parameter: part.name },
          );
        }
        const refused = part.reserved ? refuseReservedValue(text) : refusePathValue(text);
        if (refused !== undefined)
          throw new ConnectorError('INVALID_ARGUMENTS', `path parameter "${part.name}" ${refused}`, {
            parameter: part.name,
          });
        return part.reserved ? encodeReservedValue(text) : encodeURIComponent(text);
      })
      .join(''),
  );
  const path = `/${segments.join('/')}`;
  try {
    return canonicalizePath(path);
  } catch (error) {
    if (error instanceof PathError)
      throw new ConnectorError('INVALID_ARGUMENTS', `the request path is not acceptable: ${error.message}`);
    throw error;
  }
}

/** Characters `encodeURIComponent` escapes that are harmless and conventional in a path segment. */
function encodeSegment(decoded: string): string {
  return encodeURIComponent(decoded).replace(/%3A/g, ':').replace(/%40/g, '@');
}

/** Decode one segment exactly once and re-encode it; throws PathError for anything ambiguous. */
function canonicalizeSegment(segment: string): string {
  if (segment.includes('\\')) throw new PathError('backslash in path');
  if (CONTROL.test(segment)) throw new PathError('control character in path');
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < segment.length;) {
    const ch = segment[i]!;
    if (ch === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) throw new PathError('malformed percent-encoding in path');
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
      continue;
    }
    const cp = segment.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    for (const b of encoder.encode(segment.slice(i, i + width))) bytes.push(b);
    i += width;
  }
  let decoded: string;
  try {
    // ignoreBOM: a leading byte order mark is a character of the segment, not a marker to drop.
    decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw new PathError('path is not valid UTF-8 once decoded');
  }
  if (decoded.includes('/')) throw new PathError('encoded "/" in path');
  if (decoded.includes('\\')) throw new PathError('encoded "\\" in path');
  if (CONTROL.test(decoded)) throw new PathError('encoded control character in path');
  if (/%[0-9A-Fa-f]{2}/.test(decoded)) throw new PathError('double percent-encoding in path');
  return encodeSegment(decoded);
}

/**
 * The canonical form of a request path: must start with `/`; each segment decoded once and re-encoded
 * (upper-case hex, everything but unreserved characters, `:` and `@` escaped); `.` and `..` segments
 * (also when encoded) resolved, and refused when they would climb above the root. Throws PathError for
 * encoded separators (`%2F`, `%5C`), double encoding (`%25xx`), raw backslashes, NUL and control
 * characters, malformed escapes, non-UTF-8 bytes, and empty segments other than a trailing slash.
 */
export function canonicalizePath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new PathError('path must start with "/"');
  if (path.includes('?') || path.includes('#')) throw new PathError('path must not contain "?" or "#"');
  const raw = path.slice(1).split('/');
  const out: string[] = [];
  let trailingSlash = false;
  raw.forEach((segment, index) => {
    const last = index === raw.length - 1;
    const canonical = canonicalizeSegment(segment);
    if (canonical === '' && !last) throw new PathError('empty segment ("//") in path');
    if (canonical === '.' || canonical === '..') {
      if (canonical === '..') {
        if (out.length === 0) throw new PathError('path climbs above the root');
        out.pop();
      }
      // A dot segment at the end leaves a directory: `/a/b/..` is `/a/`.
      if (last) trailingSlash = true;
      return;
    }
    out.push(canonical);
  });
  if (trailingSlash) out.push('');
  return `/${out.join('/')}`;
}

/** Join a canonical base path (e.g. `/v1` or `/`) and a path starting with `/`, without doubling the slash. */
export function joinBasePath(basePath: string, path: string): string {
  const base = basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
  return `${base}${path}`;
}
