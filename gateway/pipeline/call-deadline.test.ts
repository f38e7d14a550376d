import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callDeadline } from './call-deadline.js';

describe('callDeadline', () => {
  it('aborts with the caller’s reason when the caller aborts first', () => {
    const caller = new AbortController();
    const deadline = callDeadline(caller.signal, 60_000);
    const reason = new Error('agent went away');
    caller.abort(reason);
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.signal.reason, reason);
    assert.equal(deadline.timedOut(), false);
    deadline.dispose();
  });

  it('aborts with a TimeoutError when the deadline passes first, and says so', async () => {
    const caller = new AbortController();
    const deadline = callDeadline(caller.signal, 5);
    // The deadline's timer is unref'd: keep this test's event loop alive until it fires.
    const keepAlive = setInterval(() => undefined, 1000);
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve, { once: true })).finally(() =>
      clearInterval(keepAlive),
    );
    assert.equal(deadline.timedOut(), true);
    assert.equal((deadline.signal.reason as Error).name, 'TimeoutError');
    caller.abort(new Error('later'));
    assert.equal((deadline.signal.reason as Error).name, 'TimeoutError', 'the first reason stays');
  });

  it('starts aborted when the caller already is', () => {
    const caller = new AbortController();
    caller.abort('gone');
    const deadline = callDeadline(caller.signal, 60_000);
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.signal.reason, 'gone');
    assert.equal(deadline.timedOut(), false);
  });

  it('once disposed, neither the caller nor the timer reaches the call’s signal', async () => {
    const caller = new AbortController();
    const deadline = callDeadline(caller.signal, 5);
    deadline.dispose();
    await new Promise((resolve) => setTimeout(resolve, 20));
    caller.abort('after the call');
    assert.equal(deadline.signal.aborted, false);
    assert.equal(deadline.timedOut(), false);
  });
});
