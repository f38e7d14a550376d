import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { draft07ValidatorSource, GENERATED_VALIDATOR } from '../scripts/generate-meta-schema-validator.js';
import { validate } from './draft-07-meta-schema-validator.js';
import { createSchemaEngines, metaSchemaCheckersMade, newCheckerEngine } from './json-schema-engines.js';

/** Draft-07 schemas, valid and not, in the ways tools' schemas go wrong. */
const SCHEMAS: Record<string, unknown>[] = [
  {},
  { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false },
  { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }, true] },
  { type: 'object', properties: { a: { type: 'nonsense' } } },
  { type: ['string', 'strin'] },
  { type: 'object', properties: [] },
  { required: 'a' },
  { required: ['a', 'a'] },
  { minimum: '1', maxLength: -1 },
  { enum: [] },
  { items: 'string' },
  { additionalProperties: 'no' },
  { $ref: 5 },
  { pattern: '[' },
  { $id: 'not a uri' },
  { allOf: [] },
  { anyOf: [{ type: 'string' }, { type: 'bogus' }] },
  { if: { type: 'string' }, then: { minLength: 'x' } },
  { dependencies: { a: ['b', 'b'], c: 'd' } },
  { definitions: { x: { type: 'object', properties: { y: { type: 7 } } } }, $ref: '#/definitions/x' },
  { const: { a: 1 }, default: { b: 2 }, examples: 'not a list' },
  { properties: { a: { properties: { b: { properties: { c: { multipleOf: 0 } } } } } } },
];

describe('the draft-07 meta-schema validator compiled ahead of time', () => {
  // First: the process has made no checker yet, and the tests below make the draft-07 one.
  it('checks valid draft-07 schemas without compiling a checker in the process, and refused ones with it', () => {
    assert.deepEqual(metaSchemaCheckersMade(), []);
    const compiler = createSchemaEngines();
    for (const schema of SCHEMAS.slice(0, 3)) compiler.compile(schema);
    assert.deepEqual(metaSchemaCheckersMade(), []);
    assert.throws(() => compiler.compile({ type: 'nonsense' }), /schema is invalid/);
    assert.deepEqual(metaSchemaCheckersMade(), ['draft-07']);
  });

  it('is what scripts/generate-meta-schema-validator.ts writes with the installed ajv', () => {
    assert.equal(
      readFileSync(GENERATED_VALIDATOR, 'utf8'),
      draft07ValidatorSource(),
      'stale: run node --import tsx scripts/generate-meta-schema-validator.ts',
    );
  });

  it("gives every schema the verdict and the errors of ajv's own check", () => {
    const checker = newCheckerEngine('draft-07');
    let refused = 0;
    for (const schema of SCHEMAS) {
      const expected = checker.validateSchema(schema);
      const expectedErrors = structuredClone(checker.errors ?? null);
      assert.equal(validate(schema), expected, JSON.stringify(schema));
      assert.deepEqual(validate.errors ?? null, expectedErrors, JSON.stringify(schema));
      if (!expected) refused++;
    }
    // The corpus holds both kinds: a check that accepted everything would fail above.
    assert.ok(refused >= 10 && refused < SCHEMAS.length, `${refused} refused`);
  });

  it("still refuses a draft-07 schema with ajv's message, and leaves other dialects to their checkers", () => {
    const compiler = createSchemaEngines();
    assert.throws(
      () => compiler.compile({ type: 'object', properties: { a: { type: 'nonsense' } } }),
      /^Error: schema is invalid: data\/properties\/a\/type must be equal to one of the allowed values/,
    );
    assert.throws(
      () => compiler.compile({ $schema: 'http://json-schema.org/draft-07/schema', required: 'a' }),
      /schema is invalid: data\/required must be array/,
    );
    // A draft-06 schema is checked against draft-06's meta-schema, where `exclusiveMinimum` is a number too.
    assert.doesNotThrow(() =>
      compiler.compile({ $schema: 'http://json-schema.org/draft-06/schema#', exclusiveMinimum: 1 }),
    );
    assert.throws(() => compiler.compile({ $schema: 7, type: 'string' }), /\$schema must be a string/);
  });
});
