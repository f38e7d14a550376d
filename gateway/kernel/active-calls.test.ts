import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActiveCalls } from './active-calls.js';

describe('active calls', () => {
  it('counts each call from enter until it leaves, once however often its leave is called', () => {
    const calls = createActiveCalls();
    assert.equal(calls.count(), 0);
    const first = calls.enter();
    const second = calls.enter();
    assert.equal(calls.count(), 2);
    first();
    first();
    assert.equal(calls.count(), 1);
    second();
    assert.equal(calls.count(), 0);
  });
});
