/**
 * Multi-round-trip requests to a 2026-07-28 upstream. Instead of sending server-to-client requests, such an
 * upstream answers `tools/call`, `prompts/get` or `resources/read` with an `input_required` result: the
 * questions it needs answered (`inputRequests`, keyed) and an opaque `requestState`. The connector asks
 * each question on the call's own `inputRequests` channel (so the calling agent answers, whatever era it
 * speaks) and sends the request again with the answers (`inputResponses`, same keys) and the upstream's
 * `requestState` echoed byte for byte, until the upstream returns a complete result.
 *
 * Every round belongs to the one call that started it: concurrent calls each run their own rounds, and the
 * answers of one call never reach another's retry.
 *
 * A 2026-07-28 agent takes the upstream's round as its own (`channel.rounds`): the round is handed to the
 * agent whole (the upstream's keys and `requestState`) and the call ends with INPUT_REQUIRED; the agent's
 * retry is a new call whose first request carries the answers and the upstream's state (`rounds.resume`).
 * Nothing is held between the two, so any gateway instance can serve the retry.
 */
import { isInputRequiredResult } from '@modelcontextprotocol/client';
import {
  isJsonObject,
  setMember,
  type BackendInputRound,
  type InputRequestChannel,
  type InputRounds,
  type JsonObject,
} from '../contract.js';
import { ConnectorError } from '../errors.js';

/** What a retry adds to the request's params. */
export interface InputRound {
  inputResponses?: JsonObject;
  requestState?: string;
}

export type UpstreamResult = JsonObject;

export interface InputRoundsOptions {
  /** Send the request once, with this round's additions to its params (none on the first). */
  send(round: InputRound): Promise<unknown>;
  /** The call's channel to the agent; absent when the agent cannot answer anything. */
  channel: InputRequestChannel | undefined;
  signal: AbortSignal;
  /** Rounds allowed after the first request: an upstream that keeps asking must not hold a call forever. */
  maxRounds: number;
}

export const DEFAULT_MAX_INPUT_ROUNDS = 8;

/** Run the request to completion; resolves with the upstream's complete result. */
export async function completeInputRounds(options: InputRoundsOptions): Promise<UpstreamResult> {
  const passthrough = options.channel?.rounds;
  let round: InputRound = passthrough?.resume ?? {};
  for (let rounds = 0; ; rounds += 1) {
    const result = await options.send(round);
    if (!isInputRequiredResult(result)) {
      if (!isJsonObject(result))
        throw new ConnectorError('UPSTREAM_ERROR', 'the upstream MCP server sent an invalid response');
      return result;
    }
    if (passthrough !== undefined) handOff(passthrough, result);
    if (rounds >= options.maxRounds) {
      throw new ConnectorError(
        'UPSTREAM_ERROR',
        `the upstream MCP server still asked for input after ${options.maxRounds} rounds`,
      );
    }
    const requests = Object.entries(result.inputRequests ?? {});
    if (requests.length > 0 && options.channel === undefined) {
      throw new ConnectorError(
        'NOT_SUPPORTED',
        `the upstream MCP server needs input the calling agent cannot give (${requests[0]![1].method})`,
      );
    }
    const inputResponses: JsonObject = {};
    // One question at a time, in the upstream's order: the agent is never asked two things at once.
    for (const [key, request] of requests) {
      // The upstream names the keys: one called `__proto__` must stay a member of the answers.
      setMember(inputResponses, key, await ask(options.channel!, request.method, request.params, options.signal));
    }
    round = {
      ...(requests.length > 0 ? { inputResponses } : {}),
      ...(result.requestState === undefined ? {} : { requestState: result.requestState }),
    };
  }
}

async function ask(
  channel: InputRequestChannel,
  method: string,
  params: unknown,
  signal: AbortSignal,
): Promise<JsonObject> {
  try {
    return await channel.request(method, isJsonObject(params) ? params : {}, signal);
  } catch (error) {
    if (signal.aborted) throw new ConnectorError('CANCELLED', 'the call was cancelled');
    const code = (error as { code?: unknown }).code;
    if (code === 'NOT_SUPPORTED')
      throw new ConnectorError(
        'NOT_SUPPORTED',
        `the upstream MCP server needs input the calling agent cannot give (${method})`,
      );
    throw new ConnectorError('UPSTREAM_ERROR', `the calling agent did not answer the upstream's ${method}`, undefined, {
      cause: error,
    });
  }
}

/** Give the upstream's round to the agent and end the call with INPUT_REQUIRED. */
function handOff(rounds: InputRounds, result: { inputRequests?: unknown; requestState?: unknown }): never {
  const round: BackendInputRound = {
    inputRequests: (isJsonObject(result.inputRequests)
      ? result.inputRequests
      : {}) as BackendInputRound['inputRequests'],
    ...(typeof result.requestState === 'string' ? { requestState: result.requestState } : {}),
  };
  try {
    rounds.handOff(round);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const method = Object.values(round.inputRequests)[0]?.method ?? 'input';
    if (code === 'NOT_SUPPORTED')
      throw new ConnectorError(
        'NOT_SUPPORTED',
        `the upstream MCP server needs input the calling agent cannot give (${method})`,
      );
    throw new ConnectorError(
      'UPSTREAM_ERROR',
      "the upstream MCP server's input request could not be passed on",
      undefined,
      {
        cause: error,
      },
    );
  }
  throw new ConnectorError(
    'INPUT_REQUIRED',
    'the upstream MCP server needs input from the calling agent; the call continues when the agent retries it with the answers',
  );
}
