import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compileHostGlob,
  compileNameGlob,
  compileNameGlobs,
  compileNameList,
  hostGlobProblem,
  matchesNameList,
  matchNameGlob,
} from './glob.js';

describe('host globs', () => {
  const cases: [string, string, boolean][] = [
    ['api.example.com', 'api.example.com', true],
    ['api.example.com', 'API.Example.COM', true],
    ['api.example.com', 'api.example.com.', true],
    ['api.example.com', 'xapi.example.com', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['**.example.com', 'a.b.example.com', true],
    ['**.example.com', 'a.example.com', true],
    ['**.example.com', 'example.com', false],
    ['**.example.com', 'badexample.com', false],
    ['api-*.example.com', 'api-eu.example.com', true],
    ['api-*.example.com', 'api-eu.x.example.com', false],
    ['*', 'localhost', true],
    ['*', 'a.b', false],
    ['**', 'anything.at.all', true],
    ['10.0.0.1', '10.0.0.1', true],
  ];
  for (const [pattern, host, expected] of cases) {
    it(`${pattern} ~ ${host} = ${expected}`, () => assert.equal(compileHostGlob(pattern)(host), expected));
  }
  it('rejects malformed patterns', () => {
    for (const bad of ['a.**.com', 'a..b', '', 'a b', '**x.com']) assert.notEqual(hostGlobProblem(bad), undefined, bad);
  });
  it('a single * never matches a name with more dots than the pattern', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{1,5}$/), { minLength: 2, maxLength: 5 }), (labels) => {
        assert.equal(compileHostGlob(`*.${labels.slice(-1)[0]}`)(labels.join('.')), labels.length === 2);
      }),
    );
  });
});

describe('name globs', () => {
  it('matches like the compiled form', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-c_*?]{0,6}$/), fc.stringMatching(/^[a-c_.]{0,8}$/), (pattern, name) => {
        assert.equal(matchNameGlob(pattern, name), compileNameGlob(pattern)(name));
      }),
    );
  });
  it('treats regex characters literally', () => {
    assert.equal(compileNameGlob('a.b')('axb'), false);
    assert.equal(compileNameGlob('a+*')('a+b'), true);
    assert.equal(compileNameGlob('*refund*', { caseInsensitive: true })('Issue a REFUND now'), true);
  });
  it('a name list matches exactly as the compiled globs do, and keeps a lone exact name as the string', () => {
    assert.equal(compileNameList(['bot-1']), 'bot-1');
    assert.equal(typeof compileNameList(['bot-*']), 'function');
    assert.equal(typeof compileNameList(['bot-1', 'bot-2']), 'function');
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-c_*?]{1,4}$/), { minLength: 1, maxLength: 3 }),
        fc.stringMatching(/^[a-c_]{0,6}$/),
        (patterns, name) => {
          assert.equal(matchesNameList(compileNameList(patterns), name), compileNameGlobs(patterns)(name));
        },
      ),
    );
  });
});
