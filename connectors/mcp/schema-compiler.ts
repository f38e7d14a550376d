/**
 * JSON Schema validation of tool arguments and structured results, with ajv.
 *
 * One compiler is made per catalog load and every tool schema is compiled once, up front, so a call only
 * runs an already-compiled validator, and schemas of tools that disappeared are dropped with the old
 * compiler. The dialect follows the schema's `$schema` (draft-07 when absent; draft-06, 2019-09 and 2020-12
 * when declared; anything else does not compile). Validation never changes the value: no defaults, no coercion, so what was validated is exactly
 * what is sent upstream.
 */
import { Ajv, type ErrorObject, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createRequire } from 'node:module';
import { ARGUMENT_VALIDATION_OPTIONS } from '../ajv-options.js';

// ajv-formats is CommonJS with a default export; loading it through require avoids the double-default
// interop of CommonJS under NodeNext. The draft-06 meta-schema ships with ajv (draft-04 is not supported).
const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: Ajv | Ajv2019 | Ajv2020) => unknown;
const draft06MetaSchema = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>;

export interface SchemaViolation {
  /** JSON pointer into the validated value, '' for the root. */
  path: string;
  message: string;
}

export type Validator = (value: unknown) => readonly SchemaViolation[];

export interface SchemaCompiler {
  /** Throws when the schema itself is invalid or uses an unsupported dialect. */
  compile(schema: Record<string, unknown>): Validator;
}

const OPTIONS: Options = ARGUMENT_VALIDATION_OPTIONS;

const MAX_VIOLATIONS = 20;

function toViolations(errors: readonly ErrorObject[] | null | undefined): SchemaViolation[] {
  return (errors ?? []).slice(0, MAX_VIOLATIONS).map((e) => ({
    path: e.instancePath,
    message:
      e.keyword === 'additionalProperties'
        ? `unexpected property "${String((e.params as { additionalProperty?: unknown }).additionalProperty)}"`
        : (e.message ?? e.keyword),
  }));
}

export function createSchemaCompiler(): SchemaCompiler {
  let draft07: Ajv | undefined;
  let draft2019: Ajv2019 | undefined;
  let draft2020: Ajv2020 | undefined;

  const engineFor = (schema: Record<string, unknown>): Ajv | Ajv2019 | Ajv2020 => {
    const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
    if (dialect.includes('2020-12')) {
      if (draft2020 === undefined) addFormats((draft2020 = new Ajv2020(OPTIONS)));
      return draft2020;
    }
    if (dialect.includes('2019-09')) {
      if (draft2019 === undefined) addFormats((draft2019 = new Ajv2019(OPTIONS)));
      return draft2019;
    }
    if (dialect !== '' && !/draft-0[67]\b/.test(dialect)) throw new Error(`unsupported JSON Schema dialect ${dialect}`);
    if (draft07 === undefined) {
      draft07 = new Ajv(OPTIONS);
      draft07.addMetaSchema(draft06MetaSchema);
      addFormats(draft07);
    }
    return draft07;
  };

  return {
    compile(schema) {
      const validate = engineFor(schema).compile(schema);
      return (value) => (validate(value) ? [] : toViolations(validate.errors));
    },
  };
}
