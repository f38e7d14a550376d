import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CALL_CREDENTIAL_TYP,
  callCredentialAgent,
  CLOCK_TOLERANCE_SECONDS,
  SCOPE_PATTERN,
  TASK_TOKEN_TYP,
} from './claims.js';

describe('token names shared by the gateway and backends', () => {
  it('are the documented wire values', () => {
    // Backends that verify without this package compare these strings: they are part of the contract.
    assert.equal(TASK_TOKEN_TYP, 'portcullis-task+jwt');
    assert.equal(CALL_CREDENTIAL_TYP, 'portcullis-call+jwt');
    assert.equal(CLOCK_TOLERANCE_SECONDS, 30);
  });

  it('scope names one operation: an upper-case method and a path, or one tool', () => {
    for (const scope of ['GET /', 'POST /v1/refunds', 'M-SEARCH /x', 'tool:echo'])
      assert.equal(SCOPE_PATTERN.test(scope), true, scope);
    for (const scope of ['get /x', 'xGET /x', 'GET /x y', 'GET x', 'tool:', 'tool:a b', ' tool:a', 'tool:a\n'])
      assert.equal(SCOPE_PATTERN.test(scope), false, JSON.stringify(scope));
  });

  it('the agent of a call credential is the actor when it acts for a user', () => {
    assert.equal(callCredentialAgent({ sub: 'alice', act: { sub: 'a1' } }), 'a1');
    assert.equal(callCredentialAgent({ sub: 'a1' }), 'a1');
  });
});
