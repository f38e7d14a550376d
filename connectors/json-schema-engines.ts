/**
 * The ajv engines that compile the JSON Schemas of tools (arguments of HTTP and MCP tools, MCP structured
 * results), chosen by the schema's dialect: `$schema` 2020-12 or 2019-09 when declared, draft-07 otherwise
 * (draft-06 too, against its own meta-schema); any other dialect is refused.
 *
 * Each compiler keeps engines of its own (`createSchemaEngines`: one per catalog load, one per HTTP
 * connector), so that what it compiled goes with it when a catalog is reloaded. Those engines skip ajv's own
 * check of a schema against its meta-schema, which would compile the meta-schema's validator in every new
 * engine, on the event loop, for the first schema of every catalog load: about half the time of loading ten
 * tools (bench/schema-compile-bench.ts). The check is made instead by one engine per dialect kept for the
 * whole process, which compiles each meta-schema once and validates schemas as data (it keeps nothing of
 * them), and for draft-07 first by that meta-schema's validator compiled ahead of time. A schema that fails is
 * refused with ajv's own message, `schema is invalid: ...`.
 */
import { createRequire } from 'node:module';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ARGUMENT_VALIDATION_OPTIONS } from './ajv-options.js';
import { validate as validateDraft07Schema } from './draft-07-meta-schema-validator.js';
import { useCodePointLength } from './string-length-keywords.js';

// ajv-formats is CommonJS with a default export; loading it through require avoids the double-default
// interop of CommonJS under NodeNext. The draft-06 meta-schema ships with ajv (draft-04 is not supported).
const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: SchemaEngine) => unknown;
const draft06MetaSchema = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>;

type SchemaEngine = Ajv | Ajv2019 | Ajv2020;
export type Dialect = 'draft-07' | '2019-09' | '2020-12';

/** Throws for a dialect no engine here speaks. */
function dialectOf(schema: Record<string, unknown>): Dialect {
  const declared = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  if (declared.includes('2020-12')) return '2020-12';
  if (declared.includes('2019-09')) return '2019-09';
  if (declared !== '' && !/draft-0[67]\b/.test(declared))
    throw new Error(`unsupported JSON Schema dialect ${declared}`);
  return 'draft-07';
}

/** A new engine of `dialect`: each compiler's engines, and the process's checkers (`newCheckerEngine`). */
function newEngine(dialect: Dialect, options: Options): SchemaEngine {
  let engine: SchemaEngine;
  if (dialect === '2020-12') engine = new Ajv2020(options);
  else if (dialect === '2019-09') engine = new Ajv2019(options);
  else {
    engine = new Ajv(options);
    engine.addMetaSchema(draft06MetaSchema);
  }
  addFormats(engine);
  return engine;
}

/**
 * The engine that checks schemas of `dialect` against their meta-schema, as the process's checker is made
 * (also what scripts/generate-meta-schema-validator.ts compiles the draft-07 meta-schema's validator with).
 */
export function newCheckerEngine(dialect: Dialect, code?: Options['code']): SchemaEngine {
  return newEngine(dialect, { ...ARGUMENT_VALIDATION_OPTIONS, ...(code !== undefined ? { code } : {}) });
}

/** The `$schema` values ajv's draft-07 engine checks against the draft-07 meta-schema (none: the default). */
const DRAFT_07_META_SCHEMAS: ReadonlySet<unknown> = new Set([
  undefined,
  'http://json-schema.org/draft-07/schema#',
  'http://json-schema.org/draft-07/schema',
]);

/** The process's meta-schema checkers, one per dialect, made when first needed. */
const checkers = new Map<Dialect, SchemaEngine>();

/**
 * The dialects whose checker the process has made so far: a draft-07 schema that the validator compiled ahead
 * of time accepts makes none.
 */
export function metaSchemaCheckersMade(): Dialect[] {
  return [...checkers.keys()];
}

/**
 * Throws `schema is invalid: ...` when `schema` is not a valid schema of its dialect. A draft-07 schema, the
 * commonest by far, is first checked by the draft-07 meta-schema's validator that ajv compiled ahead of time
 * (draft-07-meta-schema-validator.js): compiling it in the process took about 80 ms of the demo's start. Only
 * a schema it refuses, and every other dialect, goes to the process's checker, which says why in ajv's words.
 */
function checkAgainstMetaSchema(dialect: Dialect, schema: Record<string, unknown>): void {
  if (dialect === 'draft-07' && DRAFT_07_META_SCHEMAS.has(schema['$schema']) && validateDraft07Schema(schema)) return;
  let checker = checkers.get(dialect);
  if (checker === undefined) {
    checker = newCheckerEngine(dialect);
    checkers.set(dialect, checker);
  }
  checker.validateSchema(schema, true);
}

export interface SchemaEngines {
  /** Throws when the schema is not a valid JSON Schema of a supported dialect. */
  compile(schema: Record<string, unknown>): ValidateFunction;
}

/** Engines for one compiler: what they compile is dropped with them. */
export function createSchemaEngines(): SchemaEngines {
  const engines = new Map<Dialect, SchemaEngine>();
  return {
    compile(schema) {
      const dialect = dialectOf(schema);
      checkAgainstMetaSchema(dialect, schema);
      let engine = engines.get(dialect);
      if (engine === undefined) {
        engine = newEngine(dialect, { ...ARGUMENT_VALIDATION_OPTIONS, validateSchema: false });
        useCodePointLength(engine);
        engines.set(dialect, engine);
      }
      return engine.compile(schema);
    },
  };
}
