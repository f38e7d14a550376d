import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWait, type WaitSource } from './wait.js';
import { ApprovalError, type Ticket } from './types.js';

/** A store that has nothing for any id: what a store that lost its data answers. */
const empty: WaitSource = {
  get: async (): Promise<Ticket | undefined> => undefined,
  subscribe: () => () => undefined,
  now: Date.now,
};
const tuning = { progressIntervalMs: 0, pollIntervalMs: 0 };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'settled';
  } catch (error) {
    assert.ok(error instanceof ApprovalError);
    return error.code;
  }
}

describe('startWait', () => {
  it('calls an id it never saw unknown (NOT_FOUND)', async () => {
    const wait = startWait(empty, 'x-1', { signal: new AbortController().signal, timeoutMs: 60_000 }, tuning);
    assert.equal(await codeOf(wait.promise), 'NOT_FOUND');
  });

  it('calls a ticket its caller filed lost (APPROVAL_LOST) when even the first read finds nothing', async () => {
    // The first read was in flight when the store lost its data, and came back after the loss.
    const wait = startWait(
      empty,
      'x-1',
      { signal: new AbortController().signal, timeoutMs: 60_000, known: true },
      tuning,
    );
    assert.equal(await codeOf(wait.promise), 'APPROVAL_LOST');
  });
});
