import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InputRequestChannel, JsonObject } from '../contract.js';
import { ConnectorError } from '../errors.js';
import { completeInputRounds, type InputRound } from './input-rounds.js';

const elicit = (message: string): JsonObject => ({
  method: 'elicitation/create',
  params: { mode: 'form', message, requestedSchema: { type: 'object', properties: {} } },
});

const answering = (asked: string[]): InputRequestChannel => ({
  async request(method, params) {
    asked.push(`${method}:${String(params.message)}`);
    return { action: 'accept', content: { said: params.message } };
  },
});

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectorError, `expected a ConnectorError, got ${String(error)}`);
  return error;
}

describe('input rounds', () => {
  it('asks each question in order, then retries with the answers and the state echoed unchanged', async () => {
    const sent: InputRound[] = [];
    const asked: string[] = [];
    const state = 'opaque+/= state';
    const result = await completeInputRounds({
      async send(round) {
        sent.push(round);
        if (sent.length === 1)
          return {
            resultType: 'input_required',
            inputRequests: { a: elicit('first'), b: elicit('second') },
            requestState: state,
          };
        return { content: [{ type: 'text', text: 'done' }] };
      },
      channel: answering(asked),
      signal: new AbortController().signal,
      maxRounds: 3,
    });
    assert.deepEqual(result, { content: [{ type: 'text', text: 'done' }] });
    assert.deepEqual(asked, ['elicitation/create:first', 'elicitation/create:second']);
    assert.deepEqual(sent, [
      {},
      {
        inputResponses: {
          a: { action: 'accept', content: { said: 'first' } },
          b: { action: 'accept', content: { said: 'second' } },
        },
        requestState: state,
      },
    ]);
  });

  it("answers a question the upstream keyed __proto__ under that key, not as the answers' prototype", async () => {
    const sent: InputRound[] = [];
    const asked: string[] = [];
    const inputRequests = JSON.parse(
      JSON.stringify({ PROTO: elicit('odd key'), b: elicit('plain') }).replace('PROTO', '__proto__'),
    );
    await completeInputRounds({
      async send(round) {
        sent.push(round);
        return sent.length === 1 ? { resultType: 'input_required', inputRequests } : { content: [] };
      },
      channel: answering(asked),
      signal: new AbortController().signal,
      maxRounds: 3,
    });
    assert.deepEqual(asked, ['elicitation/create:odd key', 'elicitation/create:plain']);
    const answers = sent[1]!.inputResponses!;
    assert.equal(Object.getPrototypeOf(answers), Object.prototype);
    assert.deepEqual(Object.keys(answers), ['__proto__', 'b']);
    assert.equal(
      JSON.stringify(answers),
      '{"__proto__":{"action":"accept","content":{"said":"odd key"}},"b":{"action":"accept","content":{"said":"plain"}}}',
    );
  });

  it('retries a state-only round without asking anyone', async () => {
    const sent: InputRound[] = [];
    await completeInputRounds({
      async send(round) {
        sent.push(round);
        return sent.length === 1 ? { resultType: 'input_required', requestState: 'poll' } : { content: [] };
      },
      channel: undefined,
      signal: new AbortController().signal,
      maxRounds: 3,
    });
    assert.deepEqual(sent, [{}, { requestState: 'poll' }]);
  });

  it('gives up on an upstream that keeps asking', async () => {
    let sends = 0;
    const error = await rejection(
      completeInputRounds({
        async send() {
          sends += 1;
          return { resultType: 'input_required', inputRequests: { a: elicit('again') } };
        },
        channel: answering([]),
        signal: new AbortController().signal,
        maxRounds: 2,
      }),
    );
    assert.equal(error.code, 'UPSTREAM_ERROR');
    assert.equal(sends, 3, 'the first request and two retries');
  });

  it('is NOT_SUPPORTED when the agent cannot answer, and CANCELLED when the call is', async () => {
    const needsInput = async (): Promise<unknown> => ({
      resultType: 'input_required',
      inputRequests: { a: elicit('q') },
    });
    const noChannel = await rejection(
      completeInputRounds({ send: needsInput, channel: undefined, signal: new AbortController().signal, maxRounds: 2 }),
    );
    assert.equal(noChannel.code, 'NOT_SUPPORTED');
    const refusing: InputRequestChannel = {
      request: () => Promise.reject(Object.assign(new Error('no elicitation'), { code: 'NOT_SUPPORTED' })),
    };
    const refused = await rejection(
      completeInputRounds({ send: needsInput, channel: refusing, signal: new AbortController().signal, maxRounds: 2 }),
    );
    assert.equal(refused.code, 'NOT_SUPPORTED');
    const controller = new AbortController();
    const cancelling: InputRequestChannel = {
      request: () => {
        controller.abort();
        return Promise.reject(new Error('aborted'));
      },
    };
    const cancelled = await rejection(
      completeInputRounds({ send: needsInput, channel: cancelling, signal: controller.signal, maxRounds: 2 }),
    );
    assert.equal(cancelled.code, 'CANCELLED');
  });
});
