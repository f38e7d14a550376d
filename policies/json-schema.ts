/**
 * JSON Schemas generated from the zod schemas, for editors (yaml-language-server and friends) to validate
 * policy files as the gateway does. `policies/policy.schema.json` is this output, committed; regenerate it
 * with `writePolicyJsonSchema` (gateway/policy/json-schema-file.ts) after changing the schema.
 */
import { z } from 'zod';
import { PolicyDocumentSchema, PolicyTestFileSchema } from './schema.js';

export const POLICY_SCHEMA_ID = 'https://portcullis.dev/schemas/policy.schema.json';
export const POLICY_TESTS_SCHEMA_ID = 'https://portcullis.dev/schemas/policy-tests.schema.json';

export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PolicyDocumentSchema, { io: 'input', unrepresentable: 'any' }),
    $id: POLICY_SCHEMA_ID,
    title: 'Portcullis policy document',
  };
}

export function policyTestsJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PolicyTestFileSchema, { io: 'input', unrepresentable: 'any' }),
    $id: POLICY_TESTS_SCHEMA_ID,
    title: 'Portcullis policy test cases',
  };
}
