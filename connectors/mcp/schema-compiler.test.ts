import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSchemaCompiler } from './schema-compiler.js';

describe('schema compiler', () => {
  it('validates with draft-07 by default and reports every violation with its path', () => {
    const validate = createSchemaCompiler().compile({
      type: 'object',
      properties: { n: { type: 'integer' }, email: { type: 'string', format: 'email' } },
      required: ['n'],
      additionalProperties: false,
    });
    assert.deepEqual(validate({ n: 1, email: 'a@example.com' }), []);
    assert.deepEqual(validate({ n: 1.5, email: 'not-an-email', extra: true }), [
      { path: '', message: 'unexpected property "extra"' },
      { path: '/n', message: 'must be integer' },
      { path: '/email', message: 'must match format "email"' },
    ]);
  });

  it('follows $schema for 2020-12 and 2019-09', () => {
    const compiler = createSchemaCompiler();
    const v2020 = compiler.compile({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { list: { type: 'array', prefixItems: [{ type: 'string' }], items: false } },
    });
    assert.deepEqual(v2020({ list: ['a'] }), []);
    assert.equal(v2020({ list: ['a', 'b'] }).length, 1);
    const v2019 = compiler.compile({
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      type: 'object',
      properties: { a: { type: 'string' } },
    });
    assert.equal(v2019({ a: 1 }).length, 1);
    const v06 = compiler.compile({
      $schema: 'http://json-schema.org/draft-06/schema#',
      type: 'object',
      properties: { a: { type: 'string' } },
    });
    assert.equal(v06({ a: 1 }).length, 1);
  });

  it('never coerces or fills in defaults: the value validated is the value sent', () => {
    const validate = createSchemaCompiler().compile({
      type: 'object',
      properties: { n: { type: 'number' }, d: { type: 'string', default: 'filled' } },
    });
    const value = { n: '5' };
    assert.equal(validate(value).length, 1, 'a numeric string is not a number');
    assert.deepEqual(value, { n: '5' }, 'unchanged');
  });

  it('refuses invalid schemas and unsupported dialects', () => {
    const compiler = createSchemaCompiler();
    assert.throws(
      () => compiler.compile({ type: 'object', properties: { a: { type: 'nonsense' } } }),
      /schema is invalid/,
    );
    assert.throws(
      () => compiler.compile({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }),
      /unsupported JSON Schema dialect/,
    );
  });

  it('tolerates the same $id in two schemas (ids from upstreams are not trusted to be unique)', () => {
    const compiler = createSchemaCompiler();
    const a = compiler.compile({
      $id: 'https://schemas.example.com/same.json',
      type: 'object',
      properties: { a: { type: 'string' } },
    });
    const b = compiler.compile({
      $id: 'https://schemas.example.com/same.json',
      type: 'object',
      properties: { a: { type: 'number' } },
    });
    assert.deepEqual(a({ a: 'x' }), []);
    assert.equal(b({ a: 'x' }).length, 1);
  });
});
