import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDrain } from './drain.js';
import { GatewayError } from './errors.js';

describe('drain', () => {
  it('aborts what follows it with the SHUTTING_DOWN reason when it cancels', () => {
    const drain = createDrain();
    const followers = [new AbortController(), new AbortController()];
    for (const follower of followers) drain.follow(follower);
    assert.ok(followers.every((follower) => !follower.signal.aborted));
    drain.cancel();
    for (const follower of followers) {
      assert.ok(follower.signal.aborted);
      assert.equal(follower.signal.reason, followers[0]?.signal.reason);
      assert.ok(follower.signal.reason instanceof GatewayError);
      assert.equal(follower.signal.reason.code, 'SHUTTING_DOWN');
    }
  });

  it('leaves alone what stopped following it', () => {
    const drain = createDrain();
    const stopped = new AbortController();
    const stop = drain.follow(stopped);
    const still = new AbortController();
    drain.follow(still);
    stop();
    stop();
    drain.cancel();
    assert.equal(stopped.signal.aborted, false);
    assert.equal(still.signal.aborted, true);
  });

  it('aborts at once what starts following it after it cancelled, with the same reason', () => {
    const drain = createDrain();
    const early = new AbortController();
    drain.follow(early);
    drain.cancel();
    const late = new AbortController();
    drain.follow(late)();
    assert.equal(late.signal.reason, early.signal.reason);
    assert.equal((late.signal.reason as GatewayError).code, 'SHUTTING_DOWN');
  });

  it('settles when the last tracked request is done, or says the time ran out', async () => {
    const drain = createDrain();
    assert.equal(await drain.settle(10), true);
    const done = drain.track();
    assert.equal(drain.inFlight(), 1);
    assert.equal(await drain.settle(5), false);
    const settled = drain.settle(10_000);
    done();
    done();
    assert.equal(await settled, true);
    assert.equal(drain.inFlight(), 0);
  });
});
