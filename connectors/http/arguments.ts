/**
 * Argument validation with ajv: each tool's input schema is compiled once, when the connector is created,
 * so a call only runs an already-compiled validator. Validation never changes the value (no defaults, no
 * coercion, nothing removed): what was validated is exactly what is sent. `additionalProperties` is
 * whatever the schema says. The dialect follows `$schema`: 2020-12 and 2019-09 when declared, draft-07
 * otherwise (also for draft-06 schemas, which it reads the same way for argument objects).
 */
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ARGUMENT_VALIDATION_OPTIONS } from '../ajv-options.js';

// ajv-formats is CommonJS with a default export; require avoids the double-default interop under NodeNext.
const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: Ajv | Ajv2019 | Ajv2020) => unknown;

const OPTIONS: Options = ARGUMENT_VALIDATION_OPTIONS;

/** At most this many violations are reported for one call. */
const MAX_ERRORS = 20;

/** Returns ajv's errors for an invalid value, or an empty list. */
export type ArgumentValidator = (value: unknown) => ErrorObject[];

export interface ArgumentValidatorCompiler {
  /** Throws when the schema is not a valid JSON Schema of a supported dialect. */
  compile(schema: Record<string, unknown>): ArgumentValidator;
}

export function createArgumentValidatorCompiler(): ArgumentValidatorCompiler {
  let draft07: Ajv | undefined;
  let draft2019: Ajv2019 | undefined;
  let draft2020: Ajv2020 | undefined;

  const engineFor = (schema: Record<string, unknown>): Ajv | Ajv2019 | Ajv2020 => {
    const dialect = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
    if (dialect.includes('2020-12')) {
      if (draft2020 === undefined) addFormats((draft2020 = new Ajv2020(OPTIONS)));
      return draft2020;
    }
    if (dialect.includes('2019-09')) {
      if (draft2019 === undefined) addFormats((draft2019 = new Ajv2019(OPTIONS)));
      return draft2019;
    }
    if (dialect !== '' && !/draft-0[67]\b/.test(dialect)) throw new Error(`unsupported JSON Schema dialect ${dialect}`);
    if (draft07 === undefined) addFormats((draft07 = new Ajv(OPTIONS)));
    return draft07;
  };

  return {
    compile(schema) {
      // draft-06 meta-schema is not loaded; validate it as draft-07 rather than failing to compile.
      const { $schema, ...rest } = schema;
      const forDraft07 = typeof $schema === 'string' && /draft-06\b/.test($schema);
      const validate = engineFor(schema).compile(forDraft07 ? rest : schema);
      return (value) => (validate(value) ? [] : (validate.errors ?? []).slice(0, MAX_ERRORS));
    },
  };
}
