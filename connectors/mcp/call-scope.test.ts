import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectorContext } from '../contract.js';
import { type ConnectorError } from '../errors.js';
import { boundCall, CALL_OVER } from './call-scope.js';

const call: ConnectorContext = {
  callId: 'call-1',
  signal: new AbortController().signal,
  fetch: () => Promise.reject(new Error('no network in this test')),
  meta: {},
};

describe('boundCall', () => {
  it('aborts the exchange with the shared call-over reason when the call ends, and fails nothing', () => {
    const failures: ConnectorError[] = [];
    const bounds = boundCall(call, 60_000, (error) => failures.push(error));
    assert.equal(bounds.scope.signal.aborted, false);
    bounds.end();
    assert.equal(bounds.scope.signal.aborted, true);
    assert.equal(bounds.scope.signal.reason, CALL_OVER);
    assert.equal(bounds.failure(), undefined);
    assert.deepEqual(failures, []);
  });

  it('on a deadline, tells onFail, aborts the exchange with the timeout and rejects `failed`', async () => {
    const failures: ConnectorError[] = [];
    const bounds = boundCall(call, 5, (error) => failures.push(error));
    // The deadline's timer is unref'd: keep this test's event loop alive until it fires.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await assert.rejects(bounds.failed, (error: unknown) => (error as ConnectorError).code === 'UPSTREAM_TIMEOUT');
    } finally {
      clearInterval(keepAlive);
    }
    assert.equal(failures.length, 1);
    assert.equal(bounds.scope.signal.reason, failures[0]);
    assert.equal(bounds.failure(), failures[0]);
    bounds.end();
    assert.equal(bounds.scope.signal.reason, failures[0], 'the first reason stays');
  });
});
