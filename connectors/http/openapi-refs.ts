/**
 * `$ref` handling for the OpenAPI importer, on `@apidevtools/json-schema-ref-parser`.
 *
 * Only what an operation's tool needs is dereferenced: its parameters and request body, never its responses
 * and never the rest of the document. Each selected operation is placed under one key of a shallow copy of
 * the document's root (so `#/components/...` pointers resolve as written) and the parser is told to walk
 * that key alone (`excludedPathMatcher`), following references from there. Importing ten operations from a
 * document with a thousand therefore costs about ten operations, however large the document is.
 *
 * External references are not fetched (`resolve.external: false`) and recursive ones are left in place
 * (`circular: 'ignore'`); `toJsonSchema` then refuses both with a precise reason. References are resolved
 * in place, inside the document: callers pass a document they own.
 */
import type * as RefParserModule from '@apidevtools/json-schema-ref-parser';
import type { JSONSchema, ParserOptions } from '@apidevtools/json-schema-ref-parser';
import { setMember, type JsonObject } from '../contract.js';

/**
 * The parser's module, loaded on the first import of an OpenAPI document: a gateway whose connectors use no
 * OpenAPI document does not load it at start-up.
 */
let refParserModule: Promise<typeof RefParserModule> | undefined;
const loadRefParser = () => (refParserModule ??= import('@apidevtools/json-schema-ref-parser'));

/** An operation (or a parameter) the importer cannot represent; its message becomes the skip reason. */
export class OpenApiUnsupportedError extends Error {
  override readonly name = 'OpenApiUnsupportedError';
}

/** Above this many nodes once inlined, one tool's input schema is refused (per tool, never cumulative). */
export const MAX_INPUT_SCHEMA_NODES = 20_000;

const SELECTION_KEY = 'x-portcullis-selection';
const SELECTION_POINTER = `#/${SELECTION_KEY}`;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parserOptions(): ParserOptions {
  return {
    resolve: { external: false },
    dereference: {
      circular: 'ignore',
      // Walk the selection only; references followed from it keep their path under the selection key.
      excludedPathMatcher: (pathFromRoot: string) =>
        pathFromRoot !== '#' && pathFromRoot !== SELECTION_POINTER && !pathFromRoot.startsWith(`${SELECTION_POINTER}/`),
    },
  };
}

/** The parser's message names its own base path for inline documents; keep the pointer, drop the rest. */
function refFailure(error: unknown): OpenApiUnsupportedError {
  if (error instanceof RangeError) return new OpenApiUnsupportedError('its schemas nest too deeply to inline');
  const candidate = error as { code?: unknown; targetRef?: unknown; message?: unknown };
  if (candidate.code === 'EMISSINGPOINTER' && typeof candidate.targetRef === 'string')
    return new OpenApiUnsupportedError(`$ref "${candidate.targetRef}" does not resolve`);
  const message = typeof candidate.message === 'string' ? candidate.message : String(error);
  const pointer = /"[^"#]*(#[^"]*)"/.exec(message)?.[1];
  if (candidate.code === 'EINVALIDPOINTER' && pointer !== undefined)
    return new OpenApiUnsupportedError(`$ref "${pointer}" is not a valid JSON pointer`);
  return new OpenApiUnsupportedError(
    pointer !== undefined ? `$ref "${pointer}" cannot be resolved` : 'a $ref cannot be resolved',
  );
}

/**
 * Resolve the `$ref`s reachable from `selection` (any JSON value) against `document`, and return the
 * resolved selection. `shallow` resolves only a `$ref` at the top of the selection (a path item), leaving
 * everything inside it as written. Throws OpenApiUnsupportedError for a reference that does not resolve.
 */
export async function dereferenceSelection(
  document: JsonObject,
  selection: unknown,
  options: { shallow?: boolean } = {},
): Promise<unknown> {
  const root = { ...document, [SELECTION_KEY]: { value: selection } };
  const base = parserOptions();
  const { $RefParser } = await loadRefParser();
  const parser = new $RefParser();
  const valuePointer = `${SELECTION_POINTER}/value`;
  const parse: ParserOptions =
    options.shallow === true
      ? {
          ...base,
          dereference: {
            ...base.dereference,
            excludedPathMatcher: (pathFromRoot: string) =>
              pathFromRoot !== '#' && pathFromRoot !== SELECTION_POINTER && pathFromRoot !== valuePointer,
          },
        }
      : base;
  try {
    const resolved = (await parser.dereference(root as JSONSchema, parse)) as Record<string, unknown>;
    return (resolved[SELECTION_KEY] as { value: unknown }).value;
  } catch (error) {
    throw refFailure(error);
  }
}

/** OpenAPI 3.0 schema idioms that JSON Schema (draft-07) reads differently. */
function fromOpenApi30(schema: JsonObject): JsonObject {
  const out = { ...schema };
  if (out['nullable'] === true) {
    const type = out['type'];
    if (typeof type === 'string') out['type'] = [type, 'null'];
    else if (Array.isArray(type) && !type.includes('null')) out['type'] = [...type, 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
  }
  delete out['nullable'];
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] === 'boolean') {
      if (out[flag] === true && typeof out[bound] === 'number') {
        out[flag] = out[bound];
        delete out[bound];
      } else {
        delete out[flag];
      }
    }
  }
  return out;
}

/**
 * Copies dereferenced schemas into plain JSON Schema for one tool: OpenAPI 3.0 idioms converted, a `$ref`
 * that is still there refused (external, or recursive), and the tool's total size bounded. One instance
 * per tool, so the bound is per tool.
 */
export class SchemaConverter {
  private nodes = 0;
  constructor(
    private readonly version: '3.0' | '3.1',
    private readonly maxNodes = MAX_INPUT_SCHEMA_NODES,
  ) {}

  schema(value: unknown): unknown {
    return this.copy(value, new Set());
  }

  private copy(value: unknown, onPath: Set<object>): unknown {
    if (++this.nodes > this.maxNodes)
      throw new OpenApiUnsupportedError(
        `the input schema has more than ${this.maxNodes} nodes once $refs are inlined (the limit per tool)`,
      );
    if (typeof value !== 'object' || value === null) return value;
    if (onPath.has(value)) throw new OpenApiUnsupportedError('a schema contains itself (recursive $ref)');
    onPath.add(value);
    try {
      if (Array.isArray(value)) return value.map((item) => this.copy(item, onPath));
      const object = value as JsonObject;
      if (typeof object['$ref'] === 'string') {
        const ref = object['$ref'];
        throw new OpenApiUnsupportedError(
          ref.startsWith('#')
            ? `recursive schema $ref "${ref}" is not supported`
            : `external $ref "${ref}" is not supported`,
        );
      }
      const out: JsonObject = {};
      // `properties`, `patternProperties`, `$defs` map names to schemas; names are kept as they are.
      for (const [key, child] of Object.entries(object)) setMember(out, key, this.copy(child, onPath));
      return this.version === '3.0' ? fromOpenApi30(out) : out;
    } finally {
      onPath.delete(value);
    }
  }
}

/** A dereferenced non-schema object (parameter, request body); a `$ref` still there could not be followed. */
export function resolvedObject(value: unknown, what: string): JsonObject {
  if (isObject(value) && typeof value['$ref'] === 'string') {
    const ref = value['$ref'];
    throw new OpenApiUnsupportedError(
      ref.startsWith('#') ? `recursive $ref "${ref}" in a ${what}` : `external $ref "${ref}" is not supported`,
    );
  }
  if (!isObject(value)) throw new OpenApiUnsupportedError(`${what} is not an object`);
  return value;
}
