/**
 * Resource URIs as policy sees them. Rules match the canonical form only, so that one resource cannot be
 * named in a way a rule does not recognise:
 * - scheme and host are lower-cased;
 * - percent-encoding is normalised: unreserved characters are decoded, other escapes get upper-case hex;
 * - dot segments (`.` and `..`, also when they were percent-encoded) are removed from the path.
 * A URI that has no safe canonical form (bad escapes, an encoded `/` or `\`, a backslash, control
 * characters, user info) has none: `canonicalResourceUri` returns undefined, and the gateway refuses it.
 *
 * URI globs: `*` matches within one path segment (never `/`), `**` matches across segments; everything
 * else is literal (`?` too: it starts a query). Patterns are canonicalised like URIs.
 */

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Control characters (C0 and DEL) and the backslash: never part of a canonical URI. */
function hasUnsafeCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

export function canonicalResourceUri(uri: string): string | undefined {
  if (uri.length === 0 || uri.length > 4096 || hasUnsafeCharacter(uri)) return undefined;
  const scheme = SCHEME.exec(uri);
  if (scheme === null) return undefined;
  let rest = normalizeEscapes(uri.slice(scheme[0].length));
  if (rest === undefined) return undefined;
  let authority = '';
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    const raw = end < 0 ? rest.slice(2) : rest.slice(2, 2 + end);
    if (raw.includes('@')) return undefined;
    authority = `//${raw.toLowerCase()}`;
    rest = end < 0 ? '' : rest.slice(2 + end);
  }
  const suffixAt = rest.search(/[?#]/);
  const path = suffixAt < 0 ? rest : rest.slice(0, suffixAt);
  const suffix = suffixAt < 0 ? '' : rest.slice(suffixAt);
  return `${scheme[1]!.toLowerCase()}:${authority}${removeDotSegments(path)}${suffix}`;
}

/** Decode escapes of unreserved characters, upper-case the others; undefined for a bad or unsafe escape. */
function normalizeEscapes(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const decoded = String.fromCharCode(parseInt(hex, 16));
    // An encoded separator would be one segment here and two behind the gateway: no canonical form.
    if (decoded === '/' || hasUnsafeCharacter(decoded)) {
      return undefined;
    }
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 section 5.2.4. */
function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const absolute = path.startsWith('/');
  const out: string[] = [];
  const segments = (absolute ? path.slice(1) : path).split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  });
  return (absolute ? '/' : '') + out.join('/');
}

export type UriMatcher = (canonicalUri: string) => boolean;

/** A matcher for one URI glob; undefined when the pattern itself has no canonical form. */
export function compileUriGlob(pattern: string): UriMatcher | undefined {
  // Canonicalise the literal parts: glob characters are not escapes and survive normalisation. A pattern
  // that starts with a glob (`**`, `*://docs/**`) has no scheme to canonicalise; its escapes still are.
  const canonical = SCHEME.test(pattern)
    ? canonicalResourceUri(pattern)
    : pattern.startsWith('*') && !hasUnsafeCharacter(pattern)
      ? normalizeEscapes(pattern)
      : undefined;
  if (canonical === undefined) return undefined;
  let source = '';
  for (let i = 0; i < canonical.length; i++) {
    const ch = canonical[i]!;
    if (ch === '*' && canonical[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (ch === '*') source += '[^/]*';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`, 's');
  return (uri) => regex.test(uri);
}
