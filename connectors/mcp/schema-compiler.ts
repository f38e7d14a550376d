/**
 * JSON Schema validation of tool arguments and structured results, with ajv.
 *
 * One compiler is made per catalog load and every tool schema is compiled once, up front, so a call only
 * runs an already-compiled validator, and schemas of tools that disappeared are dropped with the old
 * compiler. The dialect follows the schema's `$schema` (draft-07 when absent; draft-06, 2019-09 and 2020-12
 * when declared; anything else does not compile: json-schema-engines.ts). Validation never changes the value:
 * no defaults, no coercion, so what was validated is exactly what is sent upstream.
 */
import type { ErrorObject } from 'ajv';
import { createSchemaEngines } from '../json-schema-engines.js';

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
  const engines = createSchemaEngines();
  return {
    compile(schema) {
      const validate = engines.compile(schema);
      return (value) => (validate(value) ? [] : toViolations(validate.errors));
    },
  };
}
