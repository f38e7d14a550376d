import type { Options } from 'ajv';

/**
 * How connectors validate tool arguments against JSON Schemas (ajv): report every violation, check formats,
 * and never change the value being validated (no defaults, coercion or removal), so what is validated is
 * exactly what is sent. Schemas come from configuration, OpenAPI documents or upstream servers, so their
 * `$id`s are not trusted to be unique and are not registered.
 */
export const ARGUMENT_VALIDATION_OPTIONS: Options = {
  strict: false,
  allErrors: true,
  validateFormats: true,
  useDefaults: false,
  coerceTypes: false,
  removeAdditional: false,
  addUsedSchema: false,
};
