/**
 * `Mcp-Param-{Name}` request headers of MCP 2026-07-28 (custom headers, SEP-2243). A tool may mark
 * primitive parameters of its input schema with `x-mcp-header: <Name>`; a client then mirrors each such
 * argument into the header `Mcp-Param-<Name>` (verbatim, or Base64 inside `=?base64?...?=`), so that
 * intermediaries can route on it. The header must agree with the body: when the body carries the argument,
 * a missing, undecodable or different header is refused with 400 and JSON-RPC -32020 (HeaderMismatch), as
 * for `Mcp-Method`/`Mcp-Name`, before policy or any backend sees the call.
 *
 * Both sides of the gateway need this. The SDK checks these headers only for tools registered on its own
 * `McpServer`, and mirrors them only from its high-level `callTool`: the gateway's MCP edge serves its
 * catalog through a plain `Server` and checks them itself (`checkParamHeaders`) against the schema the
 * agent was shown; the MCP connector sends its calls as plain requests and mirrors them itself
 * (`paramHeaders`) for a 2026-07-28 upstream that declares them.
 */

import { HTTP_TOKEN, isJsonObject } from '../contract.js';

export const HEADER_MISMATCH = -32020;
const PREFIX = 'mcp-param-';
const SENTINEL_START = '=?base64?';
const SENTINEL_END = '?=';
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const PRIMITIVE_TYPES = new Set(['string', 'integer', 'number', 'boolean']);

export interface ParamHeaderDeclaration {
  /** The header name after `Mcp-Param-`. */
  readonly headerName: string;
  /** Where the argument sits in `arguments`: a chain of `properties` keys. */
  readonly path: readonly string[];
  readonly type: string;
}

export interface ParamHeaderMismatch {
  header: string;
  message: string;
}

/** Declarations already read, by the schema object they were read from. */
const declarationsOf = new WeakMap<object, readonly ParamHeaderDeclaration[]>();
const NONE: readonly ParamHeaderDeclaration[] = Object.freeze([]);

/**
 * The `x-mcp-header` declarations of an input schema: primitive properties reachable from the root through
 * `properties` alone. Malformed declarations (not a token, not a primitive) are left out.
 *
 * Read once per schema object: both sides look them up on every 2026-07-28 `tools/call`, and a tool's
 * schema is a descriptor the catalog replaces when the tool changes, never edits. The list is frozen.
 */
export function paramHeaderDeclarations(inputSchema: unknown): readonly ParamHeaderDeclaration[] {
  if (!isJsonObject(inputSchema)) return NONE;
  let declarations = declarationsOf.get(inputSchema);
  if (declarations === undefined) {
    declarations = readDeclarations(inputSchema);
    declarationsOf.set(inputSchema, declarations);
  }
  return declarations;
}

function readDeclarations(inputSchema: object): readonly ParamHeaderDeclaration[] {
  const found: ParamHeaderDeclaration[] = [];
  const walk = (schema: unknown, path: string[]): void => {
    if (!isJsonObject(schema) || !isJsonObject(schema['properties'])) return;
    for (const [key, property] of Object.entries(schema['properties'])) {
      if (!isJsonObject(property)) continue;
      const name = property['x-mcp-header'];
      const type = property['type'];
      if (typeof name === 'string' && HTTP_TOKEN.test(name) && typeof type === 'string' && PRIMITIVE_TYPES.has(type))
        found.push(Object.freeze({ headerName: name, path: Object.freeze([...path, key]), type }));
      walk(property, [...path, key]);
    }
  };
  walk(inputSchema, []);
  return found.length === 0 ? NONE : Object.freeze(found);
}

/** The first disagreement between the declared headers and the call's arguments, if any. */
export function checkParamHeaders(
  declarations: readonly ParamHeaderDeclaration[],
  args: unknown,
  header: (name: string) => string | undefined,
): ParamHeaderMismatch | undefined {
  for (const declaration of declarations) {
    const headerName = `Mcp-Param-${declaration.headerName}`;
    const value = valueAt(args, declaration.path);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    const given = header(`${PREFIX}${declaration.headerName.toLowerCase()}`);
    if (given === undefined)
      return { header: headerName, message: `the body carries a value for ${headerName} but the header is absent` };
    const decoded = decode(given.trim());
    if (decoded === undefined)
      return { header: headerName, message: `the ${headerName} header carries an invalid Base64 value` };
    const same =
      typeof value === 'number' && CANONICAL_DECIMAL.test(decoded)
        ? Number(decoded) === value
        : decoded === String(value);
    if (!same) return { header: headerName, message: `the ${headerName} header does not match the body` };
  }
  return undefined;
}

/** The `Mcp-Param-*` headers a client sends with a `tools/call` carrying these arguments. */
export function paramHeaders(declarations: readonly ParamHeaderDeclaration[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const declaration of declarations) {
    const value = valueAt(args, declaration.path);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    headers[`Mcp-Param-${declaration.headerName}`] = encode(String(value));
  }
  return headers;
}

/** Literal when it is a plain visible-ASCII field value that cannot be read as Base64; else Base64. */
function encode(value: string): string {
  const plain =
    /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) &&
    !(value.startsWith(SENTINEL_START) && value.endsWith(SENTINEL_END));
  return plain ? value : `${SENTINEL_START}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL_END}`;
}

/** A header value as sent: Base64 inside the sentinel, else literal. Undefined when the Base64 is not canonical. */
function decode(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_START) && value.endsWith(SENTINEL_END))) return value;
  const payload = value.slice(SENTINEL_START.length, value.length - SENTINEL_END.length);
  if (!CANONICAL_BASE64.test(payload)) return undefined;
  try {
    // ignoreBOM: a leading byte order mark is part of the value, as in the argument it must equal.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.from(payload, 'base64'));
  } catch {
    return undefined;
  }
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isJsonObject(node)) return undefined;
    node = node[key];
  }
  return node;
}
