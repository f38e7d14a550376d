/**
 * The call hash binds an approval to exactly one call: the same agent, task, tool, HTTP method, canonical URL
 * and arguments. A grant made for one call hash never covers a call with any other value in any of them.
 *
 * Canonical form (version 1), hashed with SHA-256 and written as 64 lower-case hex digits:
 *
 *   "portcullis.call-hash.v1\n" + canonicalJson({ agentId, taskId, tool, method, url, args })
 *
 * where `method` and `url` are `null` when absent (MCP tools), and canonicalJson (`canonicalize` below) is
 * JSON with object keys sorted by UTF-16 code unit at every depth, no whitespace, array order kept, members
 * whose value is `undefined` dropped, and strings and numbers written as JSON.stringify writes them (for JSON
 * values this is the JSON Canonicalization Scheme, RFC 8785). So key order never matters, and values that
 * differ as JSON always give different hashes. Every own key counts, `__proto__` included (JSON.parse makes
 * it an ordinary member, so it must not vanish from the hash). Values JSON cannot carry (NaN, Infinity,
 * bigint, functions, class instances such as Date) throw a TypeError rather than collapse into another value. Method and URL are hashed as given: callers pass the canonical operation the
 * policy decided on (upper-case method, canonical URL), never the agent's raw input.
 */
import { sha256Hex } from '../../kernel/index.js';

const DOMAIN = 'portcullis.call-hash.v1\n';

export interface CallFacts {
  agentId: string;
  taskId: string;
  /** Exposed tool name. */
  tool: string;
  /** HTTP method of the operation, for HTTP tools. */
  method?: string;
  /** Canonical URL of the operation, for HTTP tools. */
  url?: string;
  args: Readonly<Record<string, unknown>>;
}

/** 64 hex digits: sha256 over the domain tag and the canonical JSON of the call (see above). */
export function callHash(call: CallFacts): string {
  return sha256Hex(
    DOMAIN +
      canonicalize({
        agentId: call.agentId,
        taskId: call.taskId,
        tool: call.tool,
        method: call.method ?? null,
        url: call.url ?? null,
        args: call.args,
      }),
  );
}

/** True for a string that has the shape of a call hash. */
export function isCallHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** Canonical JSON of a JSON value (see the module comment); throws TypeError for values JSON cannot carry. */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('call arguments must be JSON: non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item: unknown) => (item === undefined ? 'null' : canonicalize(item))).join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw new TypeError('call arguments must be JSON: not a plain object');
      const members: string[] = [];
      for (const key of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue;
        members.push(`${JSON.stringify(key)}:${canonicalize(member)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`call arguments must be JSON: ${typeof value}`);
  }
}
