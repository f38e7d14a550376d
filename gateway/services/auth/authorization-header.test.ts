import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialForScheme } from './authorization-header.js';

describe('Authorization header parsing', () => {
  it('matches the scheme case-insensitively, with one or more spaces before the credential', () => {
    for (const value of [
      'Bearer abc.def',
      'bearer abc.def',
      'BEARER abc.def',
      'bEaReR   abc.def',
      '  Bearer abc.def  ',
    ]) {
      assert.equal(credentialForScheme(value, 'Bearer'), 'abc.def', value);
    }
    assert.equal(credentialForScheme('basic dXNlcjpwYXNz', 'Basic'), 'dXNlcjpwYXNz');
  });

  it('refuses another scheme, a missing credential and anything that is not a token68', () => {
    for (const value of [
      'Basic abc',
      'Bearerabc',
      'Bearer',
      'Bearer ',
      'Bearer a b',
      'Bearer a,b',
      'Bear abc',
      'XBearer abc',
    ]) {
      assert.equal(credentialForScheme(value, 'Bearer'), undefined, value);
    }
  });
});
