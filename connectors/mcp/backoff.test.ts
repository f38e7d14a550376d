import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';

const options = { initialDelayMs: 200, maxDelayMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles per attempt, between half and all of the nominal delay', () => {
    assert.equal(
      backoffDelay(0, options, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(0, options, () => 0.999999),
      200,
    );
    assert.equal(
      backoffDelay(1, options, () => 0),
      200,
    );
    assert.equal(
      backoffDelay(3, options, () => 0),
      800,
    );
    assert.equal(
      backoffDelay(3, options, () => 0.5),
      1200,
    );
  });

  it('is capped at maxDelayMs, also for huge attempt numbers', () => {
    assert.equal(
      backoffDelay(20, options, () => 0.999999),
      30_000,
    );
    assert.equal(
      backoffDelay(10_000, options, () => 0),
      15_000,
    );
    assert.ok(Number.isFinite(backoffDelay(Number.MAX_SAFE_INTEGER, options)));
  });

  it('treats negative attempts as the first', () => {
    assert.equal(
      backoffDelay(-5, options, () => 0),
      100,
    );
  });
});
