import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSchemaEngines } from './json-schema-engines.js';

/** A schema of `dialect` that its meta-schema refuses: `type` names no JSON type. */
const invalidIn = (dialect?: string): Record<string, unknown> => ({
  ...(dialect !== undefined ? { $schema: dialect } : {}),
  type: 'object',
  properties: { a: { type: 'nonsense' } },
});

const DIALECTS = [
  undefined,
  'http://json-schema.org/draft-07/schema#',
  'http://json-schema.org/draft-06/schema#',
  'https://json-schema.org/draft/2019-09/schema',
  'https://json-schema.org/draft/2020-12/schema',
];

describe('JSON Schema engines', () => {
  it("refuses a schema its dialect's meta-schema refuses, in every dialect and for every compiler", () => {
    for (const compiler of [createSchemaEngines(), createSchemaEngines()]) {
      for (const dialect of DIALECTS) {
        assert.throws(() => compiler.compile(invalidIn(dialect)), /schema is invalid/, String(dialect));
        const valid = { ...invalidIn(dialect), properties: { a: { type: 'string' } } };
        const validate = compiler.compile(valid);
        assert.equal(validate({ a: 'x' }), true, String(dialect));
        assert.equal(validate({ a: 1 }), false, String(dialect));
      }
    }
  });

  it('keys each schema to its own dialect: 2020-12 prefixItems, draft-07 items as a list', () => {
    const compiler = createSchemaEngines();
    const v2020 = compiler.compile({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'string' }],
      items: false,
    });
    assert.equal(v2020(['a']), true);
    assert.equal(v2020(['a', 'b']), false, 'no items after the prefix');
    const v07 = compiler.compile({ type: 'array', items: [{ type: 'string' }], additionalItems: false });
    assert.equal(v07(['a']), true);
    assert.equal(v07(['a', 'b']), false, 'no items after the tuple');
  });

  it('refuses dialects it does not speak', () => {
    assert.throws(
      () => createSchemaEngines().compile({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }),
      /unsupported JSON Schema dialect/,
    );
  });

  it("keeps each compiler's schemas apart: the same $id in two compilers, and twice in one", () => {
    const first = createSchemaEngines();
    const second = createSchemaEngines();
    const id = 'https://schemas.example.com/same.json';
    const a = first.compile({ $id: id, type: 'object', properties: { a: { type: 'string' } } });
    const b = second.compile({ $id: id, type: 'object', properties: { a: { type: 'number' } } });
    const c = first.compile({ $id: id, type: 'object', properties: { a: { type: 'boolean' } } });
    assert.equal(a({ a: 'x' }), true);
    assert.equal(b({ a: 'x' }), false);
    assert.equal(c({ a: true }), true);
  });
});
