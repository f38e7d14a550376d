import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { ARGUMENT_VALIDATION_OPTIONS } from './ajv-options.js';
import { createSchemaEngines } from './json-schema-engines.js';
import { codePointLength } from './string-length-keywords.js';

const ucs2length = (
  createRequire(import.meta.url)('ajv/dist/runtime/ucs2length.js') as { default: (text: string) => number }
).default;

/** Strings of any UTF-16 units, lone and paired surrogates among them, and strings of plain text. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('a', 'é', '\uD83D', '\uDE00', '\uD83D\uDE00', '\uDBFF', '\uDC00', '中') }),
  fc.string({ unit: 'grapheme-ascii' }),
);

const DIALECTS = [
  undefined,
  'http://json-schema.org/draft-06/schema#',
  'https://json-schema.org/draft/2019-09/schema',
  'https://json-schema.org/draft/2020-12/schema',
];

describe('string length keywords', () => {
  it("counts code points as ajv's own count does, for any UTF-16 text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        assert.equal(codePointLength(text), ucs2length(text));
      }),
      { numRuns: 2000 },
    );
    assert.equal(codePointLength(''), 0);
    assert.equal(codePointLength('😀😀'), 2, 'two pairs');
    assert.equal(codePointLength('\uD83D'), 1, 'a lone high surrogate at the end');
    assert.equal(codePointLength('\uDE00\uD83D'), 2, 'a low surrogate before a high one: no pair');
    assert.equal(codePointLength('a\uD83D\uD83D\uDE00b'), 4, 'a lone high surrogate, then a pair');
    assert.equal(codePointLength(`${'x'.repeat(70_000)}😀`), 70_001, 'a pair after a long one-byte run');
  });

  it("gives the verdicts and errors of ajv's own keywords, in every dialect", () => {
    const compiler = createSchemaEngines();
    const reference = new Ajv(ARGUMENT_VALIDATION_OPTIONS);
    const limits = fc.record({ max: fc.nat(12), min: fc.nat(12) });
    for (const dialect of DIALECTS) {
      fc.assert(
        fc.property(anyText, limits, (text, { max, min }) => {
          const schema = {
            type: 'object',
            properties: { text: { type: 'string', maxLength: max, minLength: min, pattern: '^[a-z]*$' } },
          };
          const ours = compiler.compile({ ...(dialect !== undefined ? { $schema: dialect } : {}), ...schema });
          const theirs = reference.compile(schema);
          assert.equal(ours({ text }), theirs({ text }), String(dialect));
          assert.deepEqual(ours.errors ?? null, theirs.errors ?? null, String(dialect));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('refuses a text one code point over the limit and takes one at it, pairs counted once', () => {
    const validate = createSchemaEngines().compile({
      type: 'object',
      properties: { text: { type: 'string', maxLength: 3, minLength: 2 } },
    });
    assert.equal(validate({ text: '😀😀😀' }), true, 'six UTF-16 units, three code points');
    assert.equal(validate({ text: '😀😀😀a' }), false);
    assert.match(String(validate.errors?.[0]?.message), /must NOT have more than 3 characters/);
    assert.equal(validate({ text: '😀' }), false, 'two UTF-16 units, one code point');
    assert.match(String(validate.errors?.[0]?.message), /must NOT have fewer than 2 characters/);
  });
});

describe('string length keywords, what they cost', () => {
  it("does not walk a text without surrogates character by character, where ajv's count does", () => {
    const schema = { type: 'object', properties: { text: { type: 'string', maxLength: 100_000 } } };
    const ours = createSchemaEngines().compile(schema);
    const theirs = new Ajv(ARGUMENT_VALIDATION_OPTIONS).compile(schema);
    const text = 'hello portcullis '.repeat(1000);
    const charCodeAt = String.prototype.charCodeAt;
    let reads = 0;
    String.prototype.charCodeAt = function (this: string, index: number): number {
      reads += 1;
      return charCodeAt.call(this, index);
    };
    try {
      assert.equal(theirs({ text }), true);
      assert.equal(reads, text.length, "ajv's count reads every unit");
      reads = 0;
      assert.equal(ours({ text }), true);
      assert.equal(reads, 0);
    } finally {
      String.prototype.charCodeAt = charCodeAt;
    }
  });
});
