import type { ErrorObject } from 'ajv';

/**
 * The draft-07 meta-schema's validator, compiled ahead of time by ajv (draft-07-meta-schema-validator.js,
 * written by scripts/generate-meta-schema-validator.ts): true when `schema` is a valid draft-07 schema.
 */
export declare function validate(schema: unknown): boolean;
export declare namespace validate {
  let errors: ErrorObject[] | null | undefined;
}
export default validate;
