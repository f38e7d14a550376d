/**
 * The ajv engines that compile the JSON Schemas of tools (arguments of HTTP and MCP tools, MCP structured
 * results), chosen by the schema's dialect: `$schema` 2020-12 or 2019-09 when declared, draft-07 otherwise
 * (draft-06 too, against its own meta-schema); any other dialect is refused.
 *
 * Each compiler keeps engines of its own (`createSchemaEngines`: one per catalog load, one per HTTP
 * connector), so that what it compiled goes with it when a catalog is reloaded. Those engines skip ajv's own
 * check of a schema against its meta-schema, which would compile the meta-schema's validator in every new
 * engine, on the event loop, for the first schema of every catalog load: about half the time of loading ten
 * tools (bench/schema-compile-bench.ts). The check is made instead by one engine per dialect kept for the whole process, which compiles
 * each meta-schema once and validates schemas as data (it keeps nothing of them). A schema that fails is
 * refused with ajv's own message, `schema is invalid: ...`.
 */
import { createRequire } from 'node:module';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ARGUMENT_VALIDATION_OPTIONS } from './ajv-options.js';

// ajv-formats is CommonJS with a default export; loading it through require avoids the double-default
// interop of CommonJS under NodeNext. The draft-06 meta-schema ships with ajv (draft-04 is not supported).
const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: SchemaEngine) => unknown;
const draft06MetaSchema = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>;

type SchemaEngine = Ajv | Ajv2019 | Ajv2020;
type Dialect = 'draft-07' | '2019-09' | '2020-12';

/** Throws for a dialect no engine here speaks. */
function dialectOf(schema: Record<string, unknown>): Dialect {
  const declared = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  if (declared.includes('2020-12')) return '2020-12';
  if (declared.includes('2019-09')) return '2019-09';
  if (declared !== '' && !/draft-0[67]\b/.test(declared))
    throw new Error(`unsupported JSON Schema dialect ${declared}`);
  return 'draft-07';
}

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

/** The process's meta-schema checkers, one per dialect, made when first needed. */
const checkers = new Map<Dialect, SchemaEngine>();

/** Throws `schema is invalid: ...` when `schema` is not a valid schema of its dialect. */
function checkAgainstMetaSchema(dialect: Dialect, schema: Record<string, unknown>): void {
  let checker = checkers.get(dialect);
  if (checker === undefined) {
    checker = newEngine(dialect, ARGUMENT_VALIDATION_OPTIONS);
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
        engines.set(dialect, engine);
      }
      return engine.compile(schema);
    },
  };
}
