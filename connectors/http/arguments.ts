/**
 * Argument validation with ajv: each tool's input schema is compiled once, when the connector is created,
 * so a call only runs an already-compiled validator. Validation never changes the value (no defaults, no
 * coercion, nothing removed): what was validated is exactly what is sent. `additionalProperties` is
 * whatever the schema says. The dialect follows `$schema`: 2020-12 and 2019-09 when declared, draft-07
 * otherwise, draft-06 checked against its own meta-schema (json-schema-engines.ts).
 */
import type { ErrorObject } from 'ajv';
import { createSchemaEngines } from '../json-schema-engines.js';

/** At most this many violations are reported for one call. */
const MAX_ERRORS = 20;

/** Returns ajv's errors for an invalid value, or an empty list. */
export type ArgumentValidator = (value: unknown) => ErrorObject[];

export interface ArgumentValidatorCompiler {
  /** Throws when the schema is not a valid JSON Schema of a supported dialect. */
  compile(schema: Record<string, unknown>): ArgumentValidator;
}

export function createArgumentValidatorCompiler(): ArgumentValidatorCompiler {
  const engines = createSchemaEngines();
  return {
    compile(schema) {
      const validate = engines.compile(schema);
      return (value) => (validate(value) ? [] : (validate.errors ?? []).slice(0, MAX_ERRORS));
    },
  };
}
