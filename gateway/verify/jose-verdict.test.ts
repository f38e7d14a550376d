import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJoseVerdict } from './jose-verdict.js';

describe("jose's failures", () => {
  it("are the token's fault for its claims, its signature and a key the set does not have, an outage otherwise", () => {
    const tokenFaults = [
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
      'ERR_JWT_EXPIRED',
      'ERR_JWT_INVALID',
      'ERR_JWS_INVALID',
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      'ERR_JOSE_ALG_NOT_ALLOWED',
      'ERR_JOSE_NOT_SUPPORTED',
      'ERR_JWKS_NO_MATCHING_KEY',
      'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
    ];
    for (const code of tokenFaults) assert.equal(isJoseVerdict({ code }), true, code);
    const outages = [
      'ERR_JOSE_GENERIC',
      'ERR_JWKS_TIMEOUT',
      'ERR_JWKS_INVALID',
      'ERR_JWK_INVALID',
      'ERR_JWE_INVALID',
      'ECONNREFUSED',
      undefined,
      7,
    ];
    for (const code of outages) assert.equal(isJoseVerdict({ code }), false, String(code));
    // A failure that is not an error object at all, as a fetch may reject with.
    for (const error of [null, undefined, 'ERR_JWT_INVALID', new TypeError('fetch failed')])
      assert.equal(isJoseVerdict(error), false, String(error));
  });
});
