/**
 * Path patterns for `http.paths`, compiled once to a regular expression.
 *
 * A pattern is a canonical path whose segments may be:
 * - literal text (canonical percent-encoding, as the request path will carry it);
 * - `{name}`: exactly one non-empty segment, captured as `http.params.name` for conditions;
 * - `*`: exactly one non-empty segment, not captured; inside a segment (`v*`, `*.json`) any run of
 *   characters within that segment;
 * - `**`: zero or more whole segments (a trailing slash included).
 *
 * The engine only ever receives canonical paths (the connector builds them), but it does not rely on
 * that: `isCanonicalPath` recognises anything that is not in the one canonical form (empty segments,
 * dot segments, encoded dots or separators, lower-case or needless escapes, backslashes, controls), and
 * rules treat such a path as not matching an allow and as matching a deny.
 */

export const PATH_PARAM_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface PathMatch {
  params: Record<string, string>;
}

export interface CompiledPathPattern {
  readonly source: string;
  readonly paramNames: readonly string[];
  test(path: string): boolean;
  /** The named segments of a matching path, or undefined when it does not match. */
  match(path: string): PathMatch | undefined;
}

export class PathPatternError extends Error {
  override readonly name = 'PathPatternError';
  readonly code = 'INVALID_PATH_PATTERN';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Compile a path pattern; throws PathPatternError with a reason safe to show. */
export function compilePathPattern(source: string): CompiledPathPattern {
  if (!source.startsWith('/')) throw new PathPatternError('a path pattern must start with "/"');
  if (source.includes('?') || source.includes('#'))
    throw new PathPatternError('a path pattern must not contain "?" or "#"');
  const segments = source.slice(1).split('/');
  const paramNames: string[] = [];
  let regex = '^';
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '**') {
      // Zero or more segments; the last one may be empty (a trailing slash).
      regex += last ? '(?:/[^/]*)*' : '(?:/[^/]+)*';
      return;
    }
    if (segment.includes('**')) throw new PathPatternError('"**" must be a whole segment');
    if (segment === '' && !last) throw new PathPatternError('a path pattern must not contain an empty segment ("//")');
    if (segment === '.' || segment === '..')
      throw new PathPatternError('a path pattern must not contain "." or ".." segments');
    if (segment === '*') {
      regex += '/[^/]+';
      return;
    }
    let part = '';
    let rest = segment;
    while (rest.length > 0) {
      const open = rest.indexOf('{');
      const close = rest.indexOf('}');
      if (open === -1) {
        if (close !== -1) throw new PathPatternError('unbalanced "}" in path pattern');
        part += literal(rest);
        break;
      }
      if (close < open) throw new PathPatternError('unbalanced "}" in path pattern');
      if (open > 0) part += literal(rest.slice(0, open));
      const name = rest.slice(open + 1, close);
      if (!PATH_PARAM_PATTERN.test(name))
        throw new PathPatternError(`invalid segment name "{${name}}" (letters, digits and "_")`);
      if (paramNames.includes(name)) throw new PathPatternError(`segment name "{${name}}" appears twice`);
      paramNames.push(name);
      part += '([^/]+?)';
      rest = rest.slice(close + 1);
    }
    regex += `/${part}`;
  });
  regex += '$';
  const compiled = new RegExp(regex);
  return {
    source,
    paramNames,
    test(path: string): boolean {
      return compiled.test(path);
    },
    match(path: string): PathMatch | undefined {
      const m = compiled.exec(path);
      if (m === null) return undefined;
      const params: Record<string, string> = {};
      paramNames.forEach((name, i) => {
        params[name] = decodeSegment(m[i + 1] ?? '');
      });
      return { params };
    },
  };

  function literal(text: string): string {
    // `*` inside a segment: any run of characters within the segment.
    return text
      .split('*')
      .map((piece) => {
        if (!isCanonicalSegment(piece))
          throw new PathPatternError(`path pattern text "${piece}" is not in canonical form`);
        return escapeRegExp(piece);
      })
      .join('[^/]*');
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// Characters a canonical segment carries unescaped: RFC 3986 unreserved, the sub-delims that
// encodeURIComponent leaves alone, and `:` / `@`. Everything else is percent-encoded with upper-case hex.
const RAW_OK = /^[A-Za-z0-9\-._~!*'():@]$/;

/**
 * True when a segment is exactly what decoding it once and re-encoding it gives: every escape is upper-case
 * hex of a byte that must be escaped, decoded bytes are valid UTF-8 and contain no `/`, `\`, `%`-escape
 * or control character.
 */
const SIMPLE_SEGMENT = /^[A-Za-z0-9\-._~!*'():@]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isCanonicalSegment(segment: string): boolean {
  // Fast path: nothing escaped, nothing to decode.
  if (SIMPLE_SEGMENT.test(segment)) return true;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length;) {
    const ch = segment[i]!;
    if (ch === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return false;
      const byte = Number.parseInt(hex, 16);
      // Escaping a character that travels raw is not canonical (e.g. %2E for ".", %41 for "A").
      if (byte < 0x80 && RAW_OK.test(String.fromCharCode(byte))) return false;
      // Encoded separators and controls are never part of a canonical path.
      if (byte === 0x2f || byte === 0x5c || byte < 0x20 || byte === 0x7f) return false;
      bytes.push(byte);
      i += 3;
      continue;
    }
    if (!RAW_OK.test(ch)) return false;
    bytes.push(ch.charCodeAt(0));
    i += 1;
  }
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return false;
  }
  if (/[\u0080-\u009f]/.test(decoded)) return false;
  // A `%xx` in the decoded text means the original was double-encoded.
  if (/%[0-9A-Fa-f]{2}/.test(decoded)) return false;
  return true;
}

/**
 * True when `path` is in the canonical form the connectors produce: starts with `/`, no query or
 * fragment, no empty segment except a trailing slash, no `.`/`..` segments, and every segment canonical.
 */
export function isCanonicalPath(path: string): boolean {
  if (typeof path !== 'string' || !path.startsWith('/')) return false;
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '') {
      if (i === segments.length - 1) continue;
      return false;
    }
    if (segment === '.' || segment === '..') return false;
    if (!isCanonicalSegment(segment)) return false;
  }
  return true;
}
