import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../../kernel/secret.js';
import { REDACTED, isSecretAttributeKey, redactAttributes } from './redact.js';

describe('redactAttributes', () => {
  it('keeps a __proto__ member of an object value as a member, with its secrets redacted', () => {
    const value = JSON.parse('{"__proto__":{"token":"t","a":1},"b":2}') as unknown;
    assert.deepEqual(redactAttributes({ 'x.args': value }), {
      'x.args': '{"__proto__":{"token":"[redacted]","a":1},"b":2}',
    });
  });

  it('redacts credential-named keys, bearer/JWT values and Secret instances', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';
    const out = redactAttributes({
      'http.request.header.authorization': 'Basic dXNlcjpwYXNz',
      'portcullis.agent.id': 'agent-a',
      'portcullis.credential.jti': 'jti-1',
      'x.client_secret': 'abc',
      'x.api_key': 'abc',
      'x.access_token': 'abc',
      'x.password': 'abc',
      'gen_ai.usage.input_tokens': 12,
      'x.value': jwt,
      'x.header': 'Bearer abc.def',
      'x.secret-object': new Secret('s3cr3t'),
      'x.wrapped': new Secret('s3cr3t'),
      'x.args': { user: 'bob', nested: { token: 'abc', list: [jwt] } },
      'x.none': undefined,
      'x.null': null,
      'x.flags': [true, false],
    });
    assert.deepEqual(out, {
      'http.request.header.authorization': '[redacted]',
      'portcullis.agent.id': 'agent-a',
      'portcullis.credential.jti': 'jti-1',
      'x.client_secret': '[redacted]',
      'x.api_key': '[redacted]',
      'x.access_token': '[redacted]',
      'x.password': '[redacted]',
      'gen_ai.usage.input_tokens': 12,
      'x.value': '[redacted]',
      'x.header': '[redacted]',
      'x.secret-object': '[redacted]',
      'x.wrapped': '[redacted]',
      'x.args': '{"user":"bob","nested":{"token":"[redacted]","list":["[redacted]"]}}',
      'x.flags': [true, false],
    });
    assert.doesNotMatch(JSON.stringify(out), /s3cr3t|dXNlcjpwYXNz/);
  });

  it('cuts long strings', () => {
    const out = redactAttributes({ 'x.long': 'a'.repeat(5000) }, { maxLength: 10 });
    assert.equal(out['x.long'], `${'a'.repeat(10)}…`);
  });

  it('judges keys by their last segment', () => {
    assert.equal(isSecretAttributeKey('http.request.header.cookie'), true);
    assert.equal(isSecretAttributeKey('portcullis.credential.jti'), false);
    assert.equal(isSecretAttributeKey('gen_ai.usage.output_tokens'), false);
  });

  it('gives the same verdict however often a key is judged, and whatever came in between', () => {
    // More distinct keys than the verdicts it remembers, some too long to remember, each judged twice.
    const keys = Array.from({ length: 3000 }, (_, i) => {
      const prefix = i % 7 === 0 ? `${'x'.repeat(200)}.` : `k${i}.`;
      return i % 2 === 0 ? `${prefix}api_key` : `${prefix}api_keys_seen`;
    });
    for (let pass = 0; pass < 2; pass++) {
      keys.forEach((key, i) => assert.equal(isSecretAttributeKey(key), i % 2 === 0, `${key} (pass ${pass + 1})`));
    }
    assert.deepEqual(redactAttributes({ 'a.token': 'x', 'a.tokens_used': 3 }), {
      'a.token': REDACTED,
      'a.tokens_used': 3,
    });
  });
});
