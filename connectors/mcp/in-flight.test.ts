import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectorContext } from '../contract.js';
import { createInFlight } from './in-flight.js';

const ctx = (callId: string): ConnectorContext => ({
  callId,
  signal: new AbortController().signal,
  fetch: globalThis.fetch,
  meta: {},
});

describe('in-flight registry', () => {
  it('without an exchange to go by, names the sole operation only when exactly one is in flight', async () => {
    const inFlight = createInFlight();
    assert.equal(inFlight.owner(undefined), undefined);
    const a = ctx('a');
    const b = ctx('b');
    let releaseA!: () => void;
    let releaseB!: () => void;
    const runA = inFlight.track(a, () => new Promise<string>((resolve) => (releaseA = () => resolve('A'))));
    assert.equal(inFlight.owner(undefined), a);
    const runB = inFlight.track(b, () => new Promise<string>((resolve) => (releaseB = () => resolve('B'))));
    assert.equal(inFlight.size(), 2);
    assert.equal(inFlight.owner(undefined), undefined, 'ambiguous with two in flight');
    releaseA();
    assert.equal(await runA, 'A');
    assert.equal(inFlight.owner(undefined), b);
    releaseB();
    assert.equal(await runB, 'B');
    assert.equal(inFlight.size(), 0);
  });

  it('names the call whose exchange carried the message, while that call is in flight', async () => {
    const inFlight = createInFlight();
    const a = ctx('a');
    const b = ctx('b');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runs = [inFlight.track(a, () => gate), inFlight.track(b, () => gate)];
    assert.equal(inFlight.owner(a), a);
    assert.equal(inFlight.owner(b), b);
    assert.equal(inFlight.owner(ctx('ended')), undefined, 'a call no longer in flight owns nothing');
    release();
    await Promise.all(runs);
    assert.equal(inFlight.owner(a), undefined);
  });

  it('forgets an operation that failed', async () => {
    const inFlight = createInFlight();
    await assert.rejects(
      inFlight.track(ctx('x'), () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(inFlight.size(), 0);
  });

  it('keeps two operations with the same call id apart', async () => {
    const inFlight = createInFlight();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = inFlight.track(ctx('same'), () => gate);
    const second = inFlight.track(ctx('same'), () => gate);
    assert.equal(inFlight.size(), 2);
    release();
    await Promise.all([first, second]);
    assert.equal(inFlight.size(), 0);
  });
});
