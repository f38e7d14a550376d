import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { policyJsonSchema, policyTestsJsonSchema } from './json-schema.js';

describe('committed JSON Schemas', () => {
  it('match the zod schemas (regenerate with gateway/policy/json-schema-file.ts)', async () => {
    const committed = JSON.parse(await readFile(new URL('./policy.schema.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(policyJsonSchema())));
    const tests = JSON.parse(await readFile(new URL('./policy-tests.schema.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(tests, JSON.parse(JSON.stringify(policyTestsJsonSchema())));
  });
});
