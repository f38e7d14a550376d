/**
 * The two glob dialects of the policy language.
 *
 * Name globs (agents, tools, task intents, declared tools): `*` is any run of characters (also none), `?`
 * is one character, everything else is literal. Names are flat strings, so there are no separators.
 *
 * Host globs (egress hosts, trusted destinations): DNS names compared case-insensitively, label by label.
 * `*` stands for one whole label or part of one and never crosses a dot; a leading `**.` stands for one or
 * more labels; `**` alone matches every host. `*.example.com` therefore matches `a.example.com` but
 * neither `example.com` nor `a.b.example.com`; `**.example.com` matches the last two of those three.
 */

const GLOB_CHARS = /[*?]/;

export function isGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export type NameMatcher = (name: string) => boolean;

/** A matcher for one name glob; exact names compare with `===`. */
export function compileNameGlob(pattern: string, options: { caseInsensitive?: boolean } = {}): NameMatcher {
  const insensitive = options.caseInsensitive === true;
  if (!isGlob(pattern)) {
    if (!insensitive) return (name) => name === pattern;
    const lower = pattern.toLowerCase();
    return (name) => name.toLowerCase() === lower;
  }
  // The common shapes `prefix*` and `*suffix` need no regular expression.
  const body = pattern.slice(0, -1);
  if (!insensitive && pattern.endsWith('*') && !isGlob(body)) return (name) => name.startsWith(body);
  const tail = pattern.slice(1);
  if (!insensitive && pattern.startsWith('*') && !isGlob(tail)) return (name) => name.endsWith(tail);
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegExp(ch)))
    .join('');
  const regex = new RegExp(`^${source}$`, insensitive ? 'is' : 's');
  return (name) => regex.test(name);
}

/**
 * Match one name glob without compiling it (for globs that arrive with the facts, such as a task's declared
 * tools): iterative wildcard matching, linear in practice, no regular expressions built per call.
 */
export function matchNameGlob(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    const pc = pattern[p];
    if (pc === '?' || (pc !== undefined && pc !== '*' && pc === name[n])) {
      p++;
      n++;
    } else if (pc === '*') {
      star = p++;
      mark = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A matcher for a list of name globs: true when any matches. */
export function compileNameGlobs(
  patterns: readonly string[],
  options: { caseInsensitive?: boolean } = {},
): NameMatcher {
  const exact = new Set<string>();
  const globs: NameMatcher[] = [];
  for (const pattern of patterns) {
    if (isGlob(pattern) || options.caseInsensitive === true) globs.push(compileNameGlob(pattern, options));
    else exact.add(pattern);
  }
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || globs.some((glob) => glob(name));
}

/**
 * A list of name globs as a rule keeps it: a lone exact name is the string itself, compared with `===`, and
 * anything else the matcher `compileNameGlobs` makes. Large policies are mostly rules naming one exact tool,
 * agent or role; a string costs them no function object and no set.
 */
export type NameList = string | NameMatcher;

export function compileNameList(patterns: readonly string[]): NameList {
  return patterns.length === 1 && !isGlob(patterns[0]!) ? patterns[0]! : compileNameGlobs(patterns);
}

/** Exactly what `compileNameGlobs(patterns)(name)` says, for `list = compileNameList(patterns)`. */
export function matchesNameList(list: NameList, name: string): boolean {
  return typeof list === 'string' ? list === name : list(name);
}

/** Why a host glob is not acceptable, or undefined when it is. */
export function hostGlobProblem(pattern: string): string | undefined {
  if (pattern === '**') return undefined;
  const body = pattern.startsWith('**.') ? pattern.slice(3) : pattern;
  if (body.length === 0) return 'empty host pattern';
  if (body.includes('**')) return '"**" is only allowed alone or as a leading "**."';
  // Labels: letters, digits, hyphen, underscore, `*`; IPv4 literals are labels of digits; IPv6 literals
  // (with `:`) are accepted as one literal label.
  if (body.includes(':')) return /^[0-9a-fA-F:.]+$/.test(body) ? undefined : 'invalid IPv6 literal';
  for (const label of body.split('.')) {
    if (label.length === 0) return 'empty label in host pattern';
    if (!/^[A-Za-z0-9_*-]+$/.test(label)) return `invalid characters in host label "${label}"`;
  }
  return undefined;
}

/** A case-insensitive matcher for one host glob. Hosts are compared without a trailing dot. */
export function compileHostGlob(pattern: string): NameMatcher {
  const lower = pattern.toLowerCase();
  if (lower === '**') return () => true;
  const leadingAny = lower.startsWith('**.');
  const body = leadingAny ? lower.slice(3) : lower;
  if (!body.includes('*')) {
    if (!leadingAny) return (host) => normalizeHost(host) === body;
    const suffix = `.${body}`;
    return (host) => {
      const h = normalizeHost(host);
      return h.length > suffix.length && h.endsWith(suffix);
    };
  }
  const labels = body.split('.').map((label) =>
    label
      .split('')
      .map((ch) => (ch === '*' ? '[^.]*' : escapeRegExp(ch)))
      .join(''),
  );
  // `*` alone as a label must match a non-empty label.
  const source = labels.map((label, i) => (body.split('.')[i] === '*' ? '[^.]+' : label)).join('\\.');
  const regex = new RegExp(leadingAny ? `^(?:[^.]+\\.)+${source}$` : `^${source}$`);
  return (host) => regex.test(normalizeHost(host));
}

export function compileHostGlobs(patterns: readonly string[]): NameMatcher {
  const matchers = patterns.map(compileHostGlob);
  return (host) => matchers.some((m) => m(host));
}

function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
