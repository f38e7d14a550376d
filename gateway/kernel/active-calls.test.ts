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

describe('active calls: served alone', () => {
  it('holds once no two calls have been in progress together for the time asked, and never while two are', () => {
    let clock = 1_000;
    const calls = createActiveCalls(() => clock);
    // Never two together: alone from the start, with one call in progress or none.
    assert.equal(calls.servedAloneFor(100), true);
    const only = calls.enter();
    assert.equal(calls.servedAloneFor(100), true);
    const second = calls.enter();
    assert.equal(calls.servedAloneFor(0), false);
    clock += 500;
    // Still two in progress, however long ago the second started.
    assert.equal(calls.servedAloneFor(100), false);
    // The two were together until now: counted from the overlap's end, not its start.
    second();
    assert.equal(calls.servedAloneFor(1), false);
    only();
    const third = calls.enter();
    const fourth = calls.enter();
    clock += 50;
    fourth();
    assert.equal(calls.servedAloneFor(100), false);
    clock += 99;
    assert.equal(calls.servedAloneFor(100), false);
    clock += 1;
    assert.equal(calls.servedAloneFor(100), true);
    third();
    assert.equal(calls.servedAloneFor(100), true);
  });
});
